//! `FAILOVER_EMAIL_RECIPIENT`: who the notifications are mailed to.

use std::fmt;

/// Why a recipient setting cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipientError {
    /// No address at all.
    Empty,
    /// An address that could smuggle a header or an option into `sendmail`.
    Invalid(String),
}

impl fmt::Display for RecipientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecipientError::Empty => f.write_str("FAILOVER_EMAIL_RECIPIENT is empty"),
            RecipientError::Invalid(r) => write!(f, "invalid email recipient {r:?}"),
        }
    }
}

impl std::error::Error for RecipientError {}

/// Splits and checks `FAILOVER_EMAIL_RECIPIENT`: addresses separated by
/// commas or whitespace, each free of control characters, quotes, angle
/// brackets, colons and semicolons (nothing that could smuggle a header or a second
/// recipient list into `To:`), and not starting with `-`.
pub fn parse_recipients(value: &str) -> Result<Vec<String>, RecipientError> {
    let list: Vec<String> = value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if list.is_empty() {
        return Err(RecipientError::Empty);
    }
    for r in &list {
        if r.starts_with('-')
            || r.chars().any(|c| {
                c.is_control() || matches!(c, '<' | '>' | '"' | ';' | ':' | '(' | ')' | '\\')
            })
        {
            return Err(RecipientError::Invalid(r.clone()));
        }
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_are_checked() {
        assert_eq!(parse_recipients("root").unwrap(), vec!["root"]);
        assert_eq!(
            parse_recipients(" a@example.org, b@example.org  c ").unwrap(),
            vec!["a@example.org", "b@example.org", "c"]
        );
        assert_eq!(parse_recipients(""), Err(RecipientError::Empty));
        assert!(parse_recipients(" , ").is_err());
        assert!(parse_recipients("-oi").is_err());
        assert!(parse_recipients("a@b\nBcc: evil@example.org").is_err());
        assert!(parse_recipients("<a@b>").is_err());
        assert!(parse_recipients("a\u{7}b").is_err());
    }
}
