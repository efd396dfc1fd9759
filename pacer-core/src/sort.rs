//! One sort for the page's slices, compiled once.
//!
//! `slice::sort_by` and `sort_unstable_by` are fast, but each element type
//! and comparator gets its own copy of the whole driftsort or ipnsort
//! machinery, about 3.5 KB of wasm apiece: thirteen call sites made 50 KB
//! of the page's code, some 15 KB of the gzipped download. Here the
//! standard unstable sort is compiled once, on positions, with its
//! comparator behind a `dyn` and ties broken by position (so the order is
//! stable); a slice of other elements is sorted by its positions, then
//! swapped into place. Each call site adds only a small shim.
//!
//! The one exception is the latency quantiles' `f64`s (`stats`), sorted on
//! every figures update of a run that may be a million items long, where
//! the indirection would cost most.

use std::cmp::Ordering;

/// Sorts positions (indices into something else) by `order`, equal ones
/// by position: stable whatever order the positions start in.
pub fn sort_positions(ids: &mut [usize], order: &mut dyn FnMut(usize, usize) -> Ordering) {
    ids.sort_unstable_by(|&a, &b| order(a, b).then(a.cmp(&b)));
}

/// Sorts `v` by `cmp`, stably: equal elements keep their order.
pub fn sort_by<T>(v: &mut [T], mut cmp: impl FnMut(&T, &T) -> Ordering) {
    if v.len() < 2 {
        return;
    }
    let mut order: Vec<usize> = (0..v.len()).collect();
    sort_positions(&mut order, &mut |a, b| cmp(&v[a], &v[b]));
    permute(order, &mut |a, b| v.swap(a, b));
}

/// Sorts `v` by its elements' own order.
pub fn sort<T: Ord>(v: &mut [T]) {
    sort_by(v, T::cmp);
}

/// Puts the elements in `order` (`order[k]` is the position of the element
/// that belongs at `k`) by swaps, following each cycle once.
fn permute(mut order: Vec<usize>, swap: &mut dyn FnMut(usize, usize)) {
    for start in 0..order.len() {
        let mut at = start;
        loop {
            let from = order[at];
            order[at] = at;
            if from == start {
                break;
            }
            swap(at, from);
            at = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sorts_small_cases() {
        let mut v: Vec<u32> = vec![];
        sort(&mut v);
        assert!(v.is_empty());
        let mut v = vec![3, 1, 2];
        sort(&mut v);
        assert_eq!(v, [1, 2, 3]);
        let mut v = vec![5, 4, 3, 2, 1, 0];
        sort(&mut v);
        assert_eq!(v, [0, 1, 2, 3, 4, 5]);
        let mut v = vec![1.5, -0.0, f64::NAN, 0.0, -3.0];
        sort_by(&mut v, f64::total_cmp);
        assert_eq!(format!("{v:?}"), "[-3.0, -0.0, 0.0, 1.5, NaN]");
        let mut v = vec![String::from("b"), "c".into(), "a".into()];
        sort_by(&mut v, |a, b| a.cmp(b));
        assert_eq!(v, ["a", "b", "c"]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::proptest_cases()))]

        /// The same order as the standard library's stable sort, ties
        /// (same key, told apart by their original position) included,
        /// for owned elements too; also for a sorted list with a few items
        /// appended.
        #[test]
        fn matches_std_stable_sort(keys in proptest::collection::vec(0u8..8, 0..200),
                                   tail in proptest::collection::vec(0u8..8, 0..5)) {
            let mut appended = keys.clone();
            appended.sort();
            appended.extend(&tail);
            for keys in [keys, appended] {
                let tagged: Vec<(u8, usize)> = keys.into_iter().enumerate().map(|(i, k)| (k, i)).collect();
                let mut theirs = tagged.clone();
                theirs.sort_by_key(|a| a.0);
                let mut ours = tagged.clone();
                sort_by(&mut ours, |a, b| a.0.cmp(&b.0));
                prop_assert_eq!(&ours, &theirs);
                let mut owned: Vec<(String, usize)> = tagged.iter().map(|&(k, i)| (k.to_string(), i)).collect();
                sort_by(&mut owned, |a, b| a.0.cmp(&b.0));
                let owned: Vec<usize> = owned.into_iter().map(|(_, i)| i).collect();
                let theirs: Vec<usize> = theirs.into_iter().map(|(_, i)| i).collect();
                prop_assert_eq!(owned, theirs);
            }
        }
    }
}
