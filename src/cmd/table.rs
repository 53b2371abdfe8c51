//! The tables the command line prints (`status`, `fn list`, `map list`,
//! `regs`, ...): one style, columns sized to their contents, numbers
//! right-aligned.

use comfy_table::{CellAlignment, ContentArrangement, Table, presets};

/// A table with these column headers; columns whose header is in
/// `numeric` are right-aligned.
pub fn new(header: &[&str], numeric: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.to_vec());
    for (i, h) in header.iter().enumerate() {
        if let Some(c) = t.column_mut(i) {
            // Two blanks between columns, none before the first.
            c.set_padding((0, 2));
            if numeric.contains(h) {
                c.set_cell_alignment(CellAlignment::Right);
            }
        }
    }
    t
}

/// The table as lines without trailing blanks, each indented by `indent`.
pub fn render(t: &Table, indent: &str) -> String {
    let mut s = String::new();
    for line in t.lines() {
        s.push_str(indent);
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_line_up() {
        let mut t = super::new(&["name", "slots"], &["slots"]);
        t.add_row(vec!["a", "1"]);
        t.add_row(vec!["a_long_name", "12345"]);
        let s = super::render(&t, "");
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 3, "{s}");
        // Right-aligned numbers end in the same column.
        assert_eq!(lines[1].len(), lines[2].len(), "{s}");
        assert!(
            lines[1].ends_with(" 1") && lines[2].ends_with("12345"),
            "{s}"
        );
        // The second column starts at the same place on every line.
        let at = lines[2].find("12345").unwrap();
        assert_eq!(lines[0].find("slots").unwrap(), at, "{s}");
    }
}
