//! Pages of a list, numbered from 1 as people count them.

/// How many pages `len` items fill, `per_page` to a page.
pub fn page_count(len: usize, per_page: usize) -> usize {
    len.div_ceil(per_page)
}

/// The items on page `number` (1-based); empty past the last page.
pub fn page<T>(items: &[T], number: usize, per_page: usize) -> &[T] {
    if number == 0 || per_page == 0 {
        return &[];
    }
    let start = (number - 1) * per_page;
    if start >= items.len() {
        return &[];
    }
    let end = (start + per_page - 1).min(items.len());
    &items[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_a_partial_last_page() {
        assert_eq!(page_count(13, 5), 3);
        assert_eq!(page_count(10, 5), 2);
        assert_eq!(page_count(0, 5), 0);
    }

    #[test]
    fn pages_cover_every_item_once() {
        let items: Vec<u32> = (1..=13).collect();
        let seen: Vec<u32> = (1..=page_count(items.len(), 5))
            .flat_map(|n| page(&items, n, 5).iter().copied())
            .collect();
        assert_eq!(seen, items);
    }

    #[test]
    fn past_the_end_is_empty() {
        assert!(page(&[1, 2, 3], 2, 3).is_empty());
        assert!(page(&[1, 2, 3], 0, 3).is_empty());
    }
}
