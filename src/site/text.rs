//! Record texts made safe to show: bidirectional controls (e.g. U+202E RIGHT-TO-LEFT
//! OVERRIDE) and invisible characters (zero-width space, joiners, BOM) in a name or a
//! document number could make one entity look like another; they are shown as a visible
//! `[U+XXXX]` marker instead. HTML escaping is the templates' job (askama escapes every
//! value); the pages also isolate names with `<bdi>`.

/// Whether `c` changes the direction of surrounding text or is invisible.
pub fn is_deceptive(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// `text` with every deceptive character replaced by a visible `[U+XXXX]` marker; other
/// control characters (tabs, line breaks) become spaces.
pub fn neutralise(text: &str) -> String {
    if !text
        .chars()
        .any(|c| is_deceptive(c) || (c.is_control() && c != ' '))
    {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_deceptive(c) {
            out.push_str(&format!("[U+{:04X}]", u32::from(c)));
        } else if c.is_control() {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_overrides_and_zero_width_characters_become_visible_markers() {
        assert_eq!(
            neutralise("武汉\u{202E}公司\u{200B}"),
            "武汉[U+202E]公司[U+200B]"
        );
        assert_eq!(neutralise("a\tb\nc"), "a b c");
    }

    #[test]
    fn ordinary_text_is_unchanged() {
        assert_eq!(
            neutralise("武汉市江夏区〔2024〕3号 <&>"),
            "武汉市江夏区〔2024〕3号 <&>"
        );
    }
}
