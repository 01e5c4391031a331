//! Brazilian document codes the chain produces: the NF-e 44-digit access key (chave de acesso,
//! with its modulo-11 check digit), CNPJ check digits, and Correios-style tracking codes (S10,
//! with their check digit). Plus the small table of real cities and states the data draws from.

/// Issuer of every invoice: the shop's CNPJ base (8 digits) and branch (4 digits).
pub const SHOP_CNPJ_BASE: &str = "11222333";
const SHOP_BRANCH: &str = "0001";
/// The shop's state: São Paulo, IBGE code 35.
pub const SHOP_UF_CODE: u32 = 35;

/// Real city / state pairs (with the state's IBGE code) used for destinations and addresses.
pub const CITIES: &[(&str, &str, u32)] = &[
    ("São Paulo", "SP", 35),
    ("Campinas", "SP", 35),
    ("Rio de Janeiro", "RJ", 33),
    ("Niterói", "RJ", 33),
    ("Belo Horizonte", "MG", 31),
    ("Uberlândia", "MG", 31),
    ("Salvador", "BA", 29),
    ("Fortaleza", "CE", 23),
    ("Recife", "PE", 26),
    ("Porto Alegre", "RS", 43),
    ("Curitiba", "PR", 41),
    ("Florianópolis", "SC", 42),
    ("Goiânia", "GO", 52),
    ("Brasília", "DF", 53),
    ("Manaus", "AM", 13),
    ("Belém", "PA", 15),
    ("São Luís", "MA", 21),
    ("Natal", "RN", 24),
    ("João Pessoa", "PB", 25),
    ("Vitória", "ES", 32),
];

/// Modulo-11 check digit with weights 2..=9 cycling from the right (NF-e access key rule).
pub fn mod11_nfe(digits: &str) -> u32 {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * (2 + (i as u32 % 8)))
        .sum();
    let r = sum % 11;
    if r < 2 { 0 } else { 11 - r }
}

/// The shop's full 14-digit CNPJ with its two check digits.
pub fn shop_cnpj() -> String {
    let mut s = format!("{SHOP_CNPJ_BASE}{SHOP_BRANCH}");
    for _ in 0..2 {
        let d = mod11_nfe(&s);
        s.push(char::from(b'0' + d as u8));
    }
    s
}

/// Builds a 44-digit NF-e access key: UF, year-month, CNPJ, model 55, series, number, emission
/// type 1, an 8-digit random code, and the check digit.
pub fn access_key(uf: u32, yymm: &str, series: u32, number: u64, random_code: u64) -> String {
    let body = format!(
        "{uf:02}{yymm}{cnpj}55{series:03}{number:09}1{code:08}",
        cnpj = shop_cnpj(),
        number = number % 1_000_000_000,
        code = random_code % 100_000_000
    );
    debug_assert_eq!(body.len(), 43);
    format!("{body}{}", mod11_nfe(&body))
}

/// True when `key` is 44 digits whose last is the right check digit.
pub fn access_key_is_valid(key: &str) -> bool {
    key.len() == 44
        && key.bytes().all(|b| b.is_ascii_digit())
        && mod11_nfe(&key[..43]) == u32::from(key.as_bytes()[43] - b'0')
}

/// A Correios S10 tracking code: two letters, 8 digits, the check digit, `BR`.
pub fn tracking_code(prefix: [u8; 2], serial: u64) -> String {
    let serial = serial % 100_000_000;
    let digits = format!("{serial:08}");
    let weights = [8u32, 6, 4, 2, 3, 5, 9, 7];
    let sum: u32 = digits
        .bytes()
        .zip(weights)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = match 11 - sum % 11 {
        10 => 0,
        11 => 5,
        d => d,
    };
    format!(
        "{}{}{digits}{check}BR",
        char::from(prefix[0]),
        char::from(prefix[1])
    )
}

/// Service prefixes of Correios tracking codes (SEDEX, PAC and registered mail families).
pub const TRACKING_PREFIXES: [[u8; 2]; 6] = [*b"SS", *b"PX", *b"OB", *b"JT", *b"LB", *b"DL"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cnpj_check_digits_match_the_known_example() {
        assert_eq!(shop_cnpj(), "11222333000181");
    }

    #[test]
    fn access_key_has_44_digits_and_a_valid_check_digit() {
        let k = access_key(35, "2611", 1, 17, 12_345_678);
        assert_eq!(k.len(), 44);
        assert!(access_key_is_valid(&k));
        let mut broken = k.clone().into_bytes();
        broken[43] = if broken[43] == b'9' {
            b'0'
        } else {
            broken[43] + 1
        };
        assert!(!access_key_is_valid(std::str::from_utf8(&broken).unwrap()));
    }

    #[test]
    fn tracking_code_check_digit_follows_s10() {
        // The S10 rule's worked example: 47312482 -> check digit 9 (RA473124829BR).
        assert_eq!(tracking_code(*b"SS", 47_312_482), "SS473124829BR");
        assert_eq!(tracking_code(*b"PX", 7).len(), 13);
    }
}
