//! Byte offset → `line:col` conversion.

/// Line starts of a source text, for turning byte offsets into 1-based `line:col`.
///
/// Columns count Unicode scalar values (characters), starting at 1; a `\r` before `\n` counts
/// as a character of its line.
#[derive(Clone, Debug)]
pub struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(src: &str) -> LineIndex {
        let mut line_starts = vec![0];
        line_starts.extend(
            src.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { line_starts }
    }

    /// The 1-based line and column of byte `offset` in `src` (the text this index was built
    /// from). Offsets past the end map to the end; offsets inside a character to its start.
    pub fn line_col(&self, src: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(src.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let col = src
            .get(start..)
            .map(|rest| {
                rest.char_indices()
                    .take_while(|&(i, _)| start + i < offset)
                    .count()
            })
            .unwrap_or(0);
        (line, col + 1)
    }

    /// The number of lines (a text without line feeds has one).
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_one_based_line_and_char_column() {
        let src = "ab\ncd\n\u{e9}f";
        let idx = LineIndex::new(src);
        assert_eq!(idx.line_col(src, 0), (1, 1));
        assert_eq!(idx.line_col(src, 2), (1, 3)); // the '\n' itself
        assert_eq!(idx.line_col(src, 3), (2, 1));
        assert_eq!(idx.line_col(src, 6), (3, 1));
        assert_eq!(idx.line_col(src, 8), (3, 2)); // after the 2-byte 'é'
        assert_eq!(idx.line_col(src, 99), (3, 3));
        assert_eq!(idx.line_count(), 3);
    }
}
