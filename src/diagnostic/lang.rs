//! The language a diagnostic is shown in: Chinese for policy staff, English for the
//! rest, chosen on the command line (`--lang`), by a request's `Accept-Language`, or
//! from the keywords the rule file itself is written in.

use serde::Serialize;

/// A language diagnostics can be rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// 中文 (the default: rule authors are Chinese policy staff).
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// `zh` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// `zh` or `en` (also `zh-CN`, `en-GB`, … and `中文`), as typed on the command line.
    pub fn parse(text: &str) -> Option<Lang> {
        let lower = text.trim().to_ascii_lowercase();
        match lower.split(['-', '_']).next() {
            Some("zh") | Some("中文") => Some(Lang::Zh),
            Some("en") => Some(Lang::En),
            _ => None,
        }
    }

    /// The dialect a rule file is written in: the keyword that opens its header
    /// (`规则集` or `ruleset`), after comments and blank lines. `None` when the text does
    /// not start with either (e.g. not a rule file).
    pub fn of_source(text: &str) -> Option<Lang> {
        let mut rest = text.trim_start_matches('\u{feff}');
        loop {
            rest = rest.trim_start();
            if rest.starts_with("//") || rest.starts_with('#') {
                rest = rest.split_once('\n').map_or("", |(_, after)| after);
                continue;
            }
            break;
        }
        if rest.starts_with("规则集") {
            Some(Lang::Zh)
        } else if rest.starts_with("ruleset") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The language an HTTP client asks for in `Accept-Language`: the first of `zh…` or
    /// `en…` by quality (ties keep the header's order); Chinese when neither is named.
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let Some(header) = header else {
            return Lang::Zh;
        };
        let mut best: Option<(f32, usize, Lang)> = None;
        for (i, part) in header.split(',').enumerate() {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality = pieces
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("zh") => Lang::Zh,
                Some("en") => Lang::En,
                _ => continue,
            };
            if quality <= 0.0 {
                continue;
            }
            let better = match best {
                None => true,
                Some((q, _, _)) => quality > q,
            };
            if better {
                best = Some((quality, i, lang));
            }
        }
        best.map_or(Lang::Zh, |(_, _, lang)| lang)
    }
}

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn dialect_follows_the_header_keyword() {
        assert_eq!(Lang::of_source("// 注释\n规则集 a { }"), Some(Lang::Zh));
        assert_eq!(Lang::of_source("# c\n\nruleset a { }"), Some(Lang::En));
        assert_eq!(Lang::of_source("veto x {}"), None);
        assert_eq!(Lang::parse("zh-CN"), Some(Lang::Zh));
        assert_eq!(Lang::parse("EN"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
    }

    #[test]
    fn accept_language_picks_the_preferred_of_zh_and_en() {
        assert_eq!(Lang::from_accept_language(None), Lang::Zh);
        assert_eq!(Lang::from_accept_language(Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(
            Lang::from_accept_language(Some("en;q=0.5, zh-CN;q=0.8")),
            Lang::Zh
        );
        assert_eq!(Lang::from_accept_language(Some("fr, de")), Lang::Zh);
        assert_eq!(Lang::from_accept_language(Some("zh;q=0, en")), Lang::En);
    }
}
