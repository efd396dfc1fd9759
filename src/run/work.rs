//! What a run sends: its images, and how their calls are cut.
//!
//! By default each image is one work item, one multipredict call asking for
//! every model. With per-model calls (as the original client queued them)
//! each image × model pair is an item of its own, image-major: item
//! `i * M + m` asks for model `m` of image `i`. The cut is fixed when the
//! run starts and saved with it, so a resumed or imported run maps its
//! items the same way whatever the form says later.

use std::ops::Range;

use super::model::Upload;

/// A run's images and its items over them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Work {
    /// The image URLs and local files' names, in order.
    pub images: Vec<String>,
    /// Per image: `Some` for a local file (POSTed as `image_base64`),
    /// `None` for a URL (GET). As long as `images`.
    pub uploads: Vec<Option<Upload>>,
    /// Per-model calls: the models, one item per image × model. Empty: one
    /// multipredict call per image, with the run's models.
    pub per_model: Vec<String>,
}

impl Work {
    /// Work over `images` (with their `uploads`); `per_model` as above.
    pub fn new(images: Vec<String>, uploads: Vec<Option<Upload>>, per_model: Vec<String>) -> Self {
        debug_assert_eq!(images.len(), uploads.len());
        Self {
            images,
            uploads,
            per_model,
        }
    }

    /// Items per image: the models with per-model calls, else 1.
    pub fn items_per_image(&self) -> usize {
        self.per_model.len().max(1)
    }

    /// How many work items.
    pub fn len(&self) -> usize {
        self.images.len() * self.items_per_image()
    }

    /// True when there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The image item `item` is for (its index in `images`).
    pub fn image_of(&self, item: usize) -> usize {
        item / self.items_per_image()
    }

    /// The one model item `item` asks for with per-model calls; `None` when
    /// it is a multipredict call for all the run's models.
    pub fn model_of(&self, item: usize) -> Option<&str> {
        match self.per_model.len() {
            0 => None,
            m => self.per_model.get(item % m).map(String::as_str),
        }
    }

    /// The URL or file name of item `item`'s image.
    pub fn source_of(&self, item: usize) -> &str {
        &self.images[self.image_of(item)]
    }

    /// The local file item `item` sends, if its image is one.
    pub fn upload_of(&self, item: usize) -> Option<&Upload> {
        self.uploads
            .get(self.image_of(item))
            .and_then(Option::as_ref)
    }

    /// The items of the images in `images`.
    pub fn items_of(&self, images: Range<usize>) -> Range<usize> {
        let k = self.items_per_image();
        images.start * k..images.end * k
    }

    /// Indices of the images that are local files.
    pub fn files(&self) -> Vec<usize> {
        (0..self.uploads.len())
            .filter(|&i| self.uploads[i].is_some())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;

    fn upload() -> Option<Upload> {
        Some(Upload {
            jpeg: Rc::from(&b"jpeg"[..]),
            thumb_url: "blob:x".into(),
        })
    }

    #[test]
    fn one_item_per_image_without_per_model_calls() {
        let w = Work::new(vec!["a".into(), "b".into()], vec![None, upload()], vec![]);
        assert_eq!(w.len(), 2);
        assert_eq!((w.source_of(1), w.model_of(1)), ("b", None));
        assert!(w.upload_of(0).is_none() && w.upload_of(1).is_some());
        assert_eq!(w.items_of(1..2), 1..2);
        assert_eq!(w.files(), [1]);
    }

    #[test]
    fn per_model_calls_are_image_major() {
        let models = vec!["m1".into(), "m2".into(), "m3".into()];
        let w = Work::new(vec!["a".into(), "b".into()], vec![upload(), None], models);
        assert_eq!(w.len(), 6);
        let items: Vec<(&str, Option<&str>)> =
            (0..6).map(|i| (w.source_of(i), w.model_of(i))).collect();
        assert_eq!(
            items,
            [
                ("a", Some("m1")),
                ("a", Some("m2")),
                ("a", Some("m3")),
                ("b", Some("m1")),
                ("b", Some("m2")),
                ("b", Some("m3")),
            ]
        );
        assert!((0..3).all(|i| w.upload_of(i).is_some()));
        assert!((3..6).all(|i| w.upload_of(i).is_none()));
        assert_eq!(w.items_of(1..2), 3..6);
        assert_eq!(w.image_of(5), 1);
    }

    #[test]
    fn no_images_no_items() {
        let w = Work::new(vec![], vec![], vec!["m".into()]);
        assert!(w.is_empty());
    }
}
