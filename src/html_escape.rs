//! The HTML escaper of every askama template (pages and the HTML part of mail), chosen for
//! `.html` templates in `askama.toml`.
//!
//! askama's own escaper writes numeric references (`&#60;`); this one writes the named entities
//! `&lt; &gt; &amp; &quot;` (and `&#39;`, which has no HTML 4 name), which is what people and
//! mail clients expect to see in a page's source and what escaping checks look for. The set of
//! escaped characters is the same, so the safety argument is askama's.

use std::fmt::{self, Write};

/// Escapes `< > & " '` with named entities; everything else passes through.
#[derive(Debug, Clone, Copy, Default)]
pub struct NamedEntities;

impl askama::filters::Escaper for NamedEntities {
    fn write_escaped_str<W: Write>(&self, mut dest: W, string: &str) -> fmt::Result {
        let mut clean_from = 0;
        for (index, byte) in string.bytes().enumerate() {
            let Some(entity) = entity(byte) else {
                continue;
            };
            dest.write_str(&string[clean_from..index])?;
            dest.write_str(entity)?;
            clean_from = index + 1;
        }
        dest.write_str(&string[clean_from..])
    }
}

fn entity(byte: u8) -> Option<&'static str> {
    match byte {
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        b'&' => Some("&amp;"),
        b'"' => Some("&quot;"),
        b'\'' => Some("&#39;"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use askama::filters::Escaper;

    use super::NamedEntities;

    fn escaped(input: &str) -> String {
        let mut out = String::new();
        NamedEntities.write_escaped_str(&mut out, input).unwrap();
        out
    }

    #[test]
    fn markup_characters_become_named_entities() {
        assert_eq!(
            escaped(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
    }

    #[test]
    fn other_text_is_unchanged() {
        assert_eq!(escaped("Zoë → ok"), "Zoë → ok");
        assert_eq!(escaped(""), "");
        assert_eq!(escaped("a<"), "a&lt;");
    }
}
