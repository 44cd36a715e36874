// CSV safe to open in a spreadsheet: a cell that starts with `=`, `+`, `-`,
// `@`, a tab or a carriage return is prefixed with `'`, so it is never run
// as a formula (CSV injection), and cells are quoted as RFC 4180 says.

/** One cell: neutralised, then quoted if it needs to be. */
export function cell(value) {
  let text = value === null || value === undefined ? "" : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One line of cells, ended with CRLF. */
export const row = (cells) => `${cells.map(cell).join(",")}\r\n`;
