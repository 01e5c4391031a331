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

/// A Markdown link `[text](target)` at the start of `s` (the target without spaces): its text,
/// its target and the length it spans. Bracketed intervals such as `[0.92–1.26]` are not links.
fn link(s: &str) -> Option<(&str, &str, usize)> {
    let close = s.find("](")?;
    let text = s.get(1..close)?;
    let rest = &s[close + 2..];
    let end = rest.find(')')?;
    let target = &rest[..end];
    (!text.contains(['[', ']']) && !target.is_empty() && !target.contains(char::is_whitespace))
        .then_some((text, target, close + 2 + end + 1))
}

/// Inline Markdown (`code`, **bold**, `[links](target)`) to HTML.
fn inline(s: &str) -> String {
    let mut out = String::new();
    let (mut code, mut bold) = (false, false);
    let e = escape(s);
    let mut at = 0;
    while let Some(c) = e[at..].chars().next() {
        let rest = &e[at..];
        if c == '['
            && !code
            && let Some((text, target, len)) = link(rest)
        {
            out.push_str(&format!("<a href=\"{target}\">{text}</a>"));
            at += len;
        } else if c == '`' {
            out.push_str(if code { "</code>" } else { "<code>" });
            code = !code;
            at += 1;
        } else if rest.starts_with("**") && !code {
            out.push_str(if bold { "</strong>" } else { "<strong>" });
            bold = !bold;
            at += 2;
        } else {
            out.push(c);
            at += c.len_utf8();
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
    fn links_become_anchors_and_intervals_stay_text() {
        assert_eq!(
            inline("see [grpc](profiles/grpc.svg) — **1.2×** [0.92–1.26] `[a](b)`"),
            "see <a href=\"profiles/grpc.svg\">grpc</a> — <strong>1.2×</strong> [0.92–1.26] <code>[a](b)</code>"
        );
        assert_eq!(
            inline("p50 [0.70–0.75] (one run)"),
            "p50 [0.70–0.75] (one run)"
        );
    }

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
