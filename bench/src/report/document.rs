//! A renderer-neutral document (headings, paragraphs, tables, figures, preformatted blocks) and
//! its two renderings: Markdown and self-contained HTML.

use super::escape;
use super::figures::Figure;

/// One block of the report.
#[derive(Debug, Clone)]
pub enum Block {
    /// A heading of the given level (1–3).
    Heading(u8, String),
    /// A paragraph (Markdown inline syntax: `code`, **bold**).
    Paragraph(String),
    /// A bulleted list.
    Bullets(Vec<String>),
    /// A table.
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// A chart by name (its SVG is in `charts/NAME.svg`).
    Figure(String),
    /// Preformatted text (diagrams).
    Pre(String),
}

/// The report as blocks.
pub type Document = Vec<Block>;

/// Markdown rendering; figures link to `charts/NAME.svg`.
pub fn markdown(doc: &Document) -> String {
    let mut out = String::new();
    for b in doc {
        match b {
            Block::Heading(l, t) => out.push_str(&format!("{} {t}\n\n", "#".repeat(*l as usize))),
            Block::Paragraph(p) => out.push_str(&format!("{p}\n\n")),
            Block::Bullets(items) => {
                for i in items {
                    out.push_str(&format!("- {i}\n"));
                }
                out.push('\n');
            }
            Block::Table { header, rows } => {
                out.push_str(&format!("| {} |\n", header.join(" | ")));
                out.push_str(&format!(
                    "|{}\n",
                    header.iter().map(|_| "---|").collect::<String>()
                ));
                for r in rows {
                    out.push_str(&format!("| {} |\n", r.join(" | ")));
                }
                out.push('\n');
            }
            Block::Figure(name) => out.push_str(&format!("![{name}](charts/{name}.svg)\n\n")),
            Block::Pre(t) => out.push_str(&format!("```text\n{t}\n```\n\n")),
        }
    }
    out
}

/// Inline Markdown (`code`, **bold**) to HTML.
fn inline(s: &str) -> String {
    let mut out = String::new();
    let (mut code, mut bold) = (false, false);
    let e = escape(s);
    let mut chars = e.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' => {
                out.push_str(if code { "</code>" } else { "<code>" });
                code = !code;
            }
            '*' if chars.peek() == Some(&'*') && !code => {
                chars.next();
                out.push_str(if bold { "</strong>" } else { "<strong>" });
                bold = !bold;
            }
            c => out.push(c),
        }
    }
    out
}

/// Self-contained HTML: styles inline, every chart embedded as SVG; opens offline.
pub fn html(doc: &Document, figures: &[Figure]) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Checkout transport harness — report</title>\n<style>\
         body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}\
         table{border-collapse:collapse;margin:1em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}\
         th{background:#f3f3f3}td:first-child,th:first-child,td.text{text-align:left}code{background:#f3f3f3;padding:0 .2em}\
         pre{background:#f7f7f7;padding:1em;overflow-x:auto;font-size:.85em}figure{margin:1em 0}svg{max-width:100%;height:auto}\
         </style></head><body>\n",
    );
    for b in doc {
        match b {
            Block::Heading(l, t) => out.push_str(&format!("<h{l}>{}</h{l}>\n", inline(t))),
            Block::Paragraph(p) => out.push_str(&format!("<p>{}</p>\n", inline(p))),
            Block::Bullets(items) => {
                out.push_str("<ul>");
                for i in items {
                    out.push_str(&format!("<li>{}</li>", inline(i)));
                }
                out.push_str("</ul>\n");
            }
            Block::Table { header, rows } => {
                out.push_str("<table><tr>");
                for h in header {
                    out.push_str(&format!("<th>{}</th>", inline(h)));
                }
                out.push_str("</tr>");
                for r in rows {
                    out.push_str("<tr>");
                    for c in r {
                        // Numbers align right; words read from the left.
                        let numeric = c
                            .trim_start_matches(['*', '-', '+', '~'])
                            .starts_with(|ch: char| ch.is_ascii_digit() || ch == '–');
                        let class = if numeric { "" } else { " class=\"text\"" };
                        out.push_str(&format!("<td{class}>{}</td>", inline(c)));
                    }
                    out.push_str("</tr>");
                }
                out.push_str("</table>\n");
            }
            Block::Figure(name) => {
                if let Some(f) = figures.iter().find(|f| &f.name == name) {
                    out.push_str(&format!("<figure>{}</figure>\n", f.svg));
                }
            }
            Block::Pre(t) => out.push_str(&format!("<pre>{}</pre>\n", escape(t))),
        }
    }
    out.push_str("</body></html>\n");
    out
}

/// A table block.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> Block {
    Block::Table {
        header: header.iter().map(|s| s.to_string()).collect(),
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_renderings_carry_every_block() {
        let doc = vec![
            Block::Heading(1, "Title".into()),
            Block::Paragraph("gRPC is **1.5×** faster at `p50`".into()),
            Block::Table {
                header: vec!["a".into(), "b".into()],
                rows: vec![vec!["1".into(), "<2>".into()]],
            },
            Block::Figure("f".into()),
        ];
        let md = markdown(&doc);
        assert!(
            md.contains("# Title") && md.contains("| 1 | <2> |") && md.contains("charts/f.svg")
        );
        let fig = Figure {
            name: "f".into(),
            title: "F".into(),
            svg: "<svg>X</svg>".into(),
        };
        let h = html(&doc, &[fig]);
        assert!(h.contains("<strong>1.5×</strong>") && h.contains("<code>p50</code>"));
        assert!(h.contains("&lt;2&gt;") && h.contains("<svg>X</svg>"));
    }
}
