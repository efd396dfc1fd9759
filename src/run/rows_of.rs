//! Fresh rows for a run's items: a local image's thumbnail is its object
//! URL, and an image's items share their strings.

use std::sync::Arc;

use super::model::ItemRow;
use super::work::Work;

/// Fresh rows for the items of `work`; a local image's thumbnail is its
/// object URL, and an image's items share their strings.
pub fn rows_of(work: &Work) -> Vec<ItemRow> {
    let models: Vec<Arc<str>> = work.per_model.iter().map(|m| m.as_str().into()).collect();
    let mut rows = Vec::with_capacity(work.len());
    for (image, (source, upload)) in work.images.iter().zip(&work.uploads).enumerate() {
        let first = ItemRow::queued(0, source);
        let thumb = match upload {
            Some(u) => u.thumb_url.as_str().into(),
            None => Arc::clone(&first.thumb),
        };
        for id in work.items_of(image..image + 1) {
            rows.push(ItemRow {
                id,
                thumb: Arc::clone(&thumb),
                source: Arc::clone(&first.source),
                model: work
                    .model_of(id)
                    .map(|_| Arc::clone(&models[id % models.len()])),
                ..first.clone()
            });
        }
    }
    rows
}
