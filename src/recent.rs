//! A thread's last few answers to a question that costs more than comparing a few bytes (a
//! handset from its User-Agent, a signed form value, a filled-in top page): a fixed ring, the
//! oldest entry replaced by the next new one, nothing allocated. The server's runtime threads
//! each keep their own, so no lock or count is shared between cores.

/// Up to `N` entries; [`Recent::keep`] replaces them in turn.
pub struct Recent<T, const N: usize> {
    entries: [Option<T>; N],
    /// The entry the next kept one replaces.
    next: usize,
}

impl<T, const N: usize> Recent<T, N> {
    pub const fn new() -> Self {
        Recent {
            entries: [const { None }; N],
            next: 0,
        }
    }

    /// The first entry `is` picks.
    pub fn find(&self, is: impl Fn(&T) -> bool) -> Option<&T> {
        self.entries.iter().flatten().find(|e| is(e))
    }

    /// Keeps `entry` in place of the oldest.
    pub fn keep(&mut self, entry: T) {
        self.entries[self.next] = Some(entry);
        self.next = (self.next + 1) % N;
    }

    /// Entries kept.
    pub fn len(&self) -> usize {
        self.entries.iter().filter(|e| e.is_some()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T, const N: usize> Default for Recent<T, N> {
    fn default() -> Self {
        Recent::new()
    }
}

#[cfg(test)]
mod tests {
    use super::Recent;

    #[test]
    fn the_oldest_entry_gives_way_to_the_next() {
        let mut recent = Recent::<u32, 3>::new();
        assert!(recent.is_empty());
        for n in 1..=3 {
            recent.keep(n);
        }
        assert_eq!(recent.len(), 3);
        assert_eq!(recent.find(|&n| n == 1), Some(&1));
        recent.keep(4);
        assert_eq!(recent.find(|&n| n == 1), None, "the oldest went first");
        for n in [2, 3, 4] {
            assert_eq!(recent.find(|&m| m == n), Some(&n));
        }
        assert_eq!(recent.len(), 3);
    }
}
