//! Reasons in English and Simplified Chinese, chosen by `Accept-Language`.

use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    /// `en` or `zh`, whichever this language is (for reasons built with `format!`).
    pub fn text(self, en: String, zh: String) -> String {
        match self {
            Lang::En => en,
            Lang::Zh => zh,
        }
    }

    /// The first language of `Accept-Language` we speak (by q-value, then order), else `default`.
    pub fn pick(header: Option<&str>, default: Lang) -> Lang {
        let Some(h) = header else { return default };
        let mut best: Option<(f32, Lang)> = None;
        for part in h.split(',') {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = it
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|v| v.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let lang = if tag.starts_with("zh") {
                Lang::Zh
            } else if tag.starts_with("en") {
                Lang::En
            } else {
                continue;
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or(default)
    }
}

/// A human-readable reason in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub en: Cow<'static, str>,
    pub zh: Cow<'static, str>,
}

impl Msg {
    pub const fn new(en: &'static str, zh: &'static str) -> Msg {
        Msg {
            en: Cow::Borrowed(en),
            zh: Cow::Borrowed(zh),
        }
    }

    pub fn owned(en: String, zh: String) -> Msg {
        Msg {
            en: Cow::Owned(en),
            zh: Cow::Owned(zh),
        }
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Zh => &self.zh,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_by_quality_then_order() {
        assert_eq!(Lang::pick(None, Lang::Zh), Lang::Zh);
        assert_eq!(Lang::pick(Some("en-US,en;q=0.9"), Lang::Zh), Lang::En);
        assert_eq!(
            Lang::pick(Some("zh-CN,zh;q=0.9,en;q=0.8"), Lang::En),
            Lang::Zh
        );
        assert_eq!(
            Lang::pick(Some("fr, en;q=0.5, zh;q=0.7"), Lang::En),
            Lang::Zh
        );
        assert_eq!(Lang::pick(Some("fr"), Lang::En), Lang::En);
    }
}
