//! The import file's format: CSV (RFC 4180 quoting, one event per line, no line breaks inside a
//! field), with a header line naming the columns in this order.

use chrono::{DateTime, SecondsFormat, Utc};

use super::Evento;

/// The header line.
pub const HEADER: &str =
    "id_evento,cliente,produto,quantidade,centro_logistico,canal_venda,valor,emitido_em";

/// Splits one CSV line into its fields (quotes removed, `""` inside quotes kept as `"`).
fn fields(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::with_capacity(8);
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() && !was_quoted => {
                quoted = true;
                was_quoted = true;
            }
            (false, ',') => {
                out.push(std::mem::take(&mut field));
                was_quoted = false;
            }
            (false, '"') => return Err("aspas no meio de um campo".into()),
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err("aspas não fechadas".into());
    }
    out.push(field);
    Ok(out)
}

/// Parses reais with up to two decimals (`123`, `123.4`, `123.45`) into centavos.
fn centavos(s: &str) -> Result<i64, String> {
    let bad = || format!("valor: '{s}' não é um valor em reais");
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || frac.len() > 2 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let frac: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(if whole < 0 { -frac } else { frac }))
        .ok_or_else(bad)
}

/// Parses one data line into an event, or says why it is not one.
pub fn parse_line(line: &str) -> Result<Evento, String> {
    let f = fields(line.trim_end_matches(['\r', '\n']))?;
    if f.len() != 8 {
        return Err(format!("{} colunas, esperadas 8", f.len()));
    }
    let quantidade = f[3]
        .trim()
        .parse::<i64>()
        .map_err(|_| format!("quantidade: '{}' não é um inteiro", f[3]))?;
    let emitido_em_us = if f[7].trim().is_empty() {
        0
    } else {
        DateTime::parse_from_rfc3339(f[7].trim())
            .map_err(|_| format!("emitido_em: '{}' não é uma data RFC 3339", f[7]))?
            .timestamp_micros()
    };
    Ok(Evento {
        id_evento: f[0].clone(),
        cliente: f[1].clone(),
        produto: f[2].clone(),
        quantidade,
        centro_logistico: f[4].clone(),
        canal_venda: f[5].clone(),
        valor_centavos: centavos(f[6].trim())?,
        emitido_em_us,
    })
}

fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// One event as a CSV line (without the line break).
pub fn format_line(e: &Evento) -> String {
    let sign = if e.valor_centavos < 0 { "-" } else { "" };
    let v = e.valor_centavos.unsigned_abs();
    let when = DateTime::<Utc>::from_timestamp_micros(e.emitido_em_us)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, true))
        .unwrap_or_default();
    format!(
        "{},{},{},{},{},{},{sign}{}.{:02},{when}",
        quote(&e.id_evento),
        quote(&e.cliente),
        quote(&e.produto),
        e.quantidade,
        quote(&e.centro_logistico),
        quote(&e.canal_venda),
        v / 100,
        v % 100,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evento() -> Evento {
        Evento {
            id_evento: "ev-1".into(),
            cliente: "Ana \"Nina\" Souza, filha".into(),
            produto: "Café Torrado".into(),
            quantidade: 3,
            centro_logistico: "São Paulo".into(),
            canal_venda: "app".into(),
            valor_centavos: 4_507,
            emitido_em_us: 1_764_000_000_123_456,
        }
    }

    #[test]
    fn a_line_reads_back_what_was_written() {
        let e = evento();
        assert_eq!(parse_line(&format_line(&e)).unwrap(), e);
    }

    #[test]
    fn bad_lines_say_why() {
        assert!(parse_line("a,b").unwrap_err().contains("colunas"));
        let bad_qty = "ev,Ana,Café,três,SP,app,1.00,";
        assert!(parse_line(bad_qty).unwrap_err().starts_with("quantidade"));
        let bad_value = "ev,Ana,Café,1,SP,app,1.234,";
        assert!(parse_line(bad_value).unwrap_err().starts_with("valor"));
        assert!(parse_line("\"ev,Ana").unwrap_err().contains("aspas"));
        let when = "ev,Ana,Café,1,SP,app,1.5,ontem";
        assert!(parse_line(when).unwrap_err().starts_with("emitido_em"));
        assert_eq!(
            parse_line("ev,Ana,Café,1,SP,app,1.5,")
                .unwrap()
                .valor_centavos,
            150
        );
    }
}
