//! CSV export, safe to open in a spreadsheet: a cell that starts with
//! `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with `'`, so
//! it is never run as a formula (CSV injection), and cells are quoted as
//! RFC 4180 says.

/// One cell: neutralised, then quoted if it needs to be.
pub fn cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// One line of cells, ended with CRLF.
pub fn row<S: AsRef<str>>(cells: &[S]) -> String {
    let mut line = cells
        .iter()
        .map(|c| cell(c.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_cells_quoted() {
        assert_eq!(cell("Lisbon"), "Lisbon");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("\tx"), "'\tx");
        assert_eq!(cell("\rx"), "\"'\rx\"");
        assert_eq!(cell("a, b"), "\"a, b\"");
        assert_eq!(row(&["a", "=1"]), "a,'=1\r\n");
    }
}
