//! The `media:thumbnail` of each XML feed entry. `feed-rs` keeps a Media RSS
//! thumbnail only when the same scope has a `media:content`, so a
//! thumbnail-only entry (a common way for news feeds to attach a picture)
//! would lose its image; this scan finds them, by entry position.

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};

/// Media RSS namespace; some feeds omit the trailing slash.
const MRSS: &str = "http://search.yahoo.com/mrss";

/// For each `<item>` / `<entry>` in document order, the `url` of its first
/// `media:thumbnail`. `None` when the document is not XML this scan can read
/// (the caller then does without thumbnails).
pub(crate) fn entry_thumbnails(bytes: &[u8]) -> Option<Vec<Option<String>>> {
    let mut reader = NsReader::from_reader(bytes);
    let mut buf = Vec::new();
    let mut entries = Vec::new();
    let mut depth = 0usize;
    // The depth of the entry element we are inside, if any.
    let mut entry_depth = None;
    loop {
        let (ns, event) = reader.read_resolved_event_into(&mut buf).ok()?;
        let media = matches!(ns, ResolveResult::Bound(ns) if ns.into_inner().starts_with(MRSS));
        match event {
            Event::Start(ref tag) | Event::Empty(ref tag) => {
                let name = tag.local_name();
                let name = name.as_ref();
                if !media && entry_depth.is_none() && (name == "item" || name == "entry") {
                    entries.push(None);
                    if matches!(event, Event::Start(_)) {
                        entry_depth = Some(depth);
                    }
                } else if media
                    && name == "thumbnail"
                    && entry_depth.is_some()
                    && let Some(slot @ None) = entries.last_mut()
                {
                    *slot = url_attribute(tag);
                }
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                }
            }
            Event::End(_) => {
                depth = depth.checked_sub(1)?;
                if entry_depth == Some(depth) {
                    entry_depth = None;
                }
            }
            Event::Eof => return Some(entries),
            _ => {}
        }
        buf.clear();
    }
}

/// The element's `url` attribute, unescaped and trimmed.
fn url_attribute(tag: &BytesStart<'_>) -> Option<String> {
    let attr = tag.try_get_attribute("url").ok()??;
    let value = attr.normalized_value(XmlVersion::Implicit1_0).ok()?;
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnails_are_found_per_entry() {
        let rss = r#"<rss version="2.0" xmlns:m="http://search.yahoo.com/mrss/"><channel>
          <item><title>a</title><m:thumbnail url="a.jpg"/><m:thumbnail url="a2.jpg"/></item>
          <item><title>b</title></item>
          <item><m:group><m:thumbnail url=" b&amp;c.jpg "/></m:group></item>
          <item/>
        </channel></rss>"#;
        let found = entry_thumbnails(rss.as_bytes()).expect("readable XML");
        assert_eq!(
            found,
            [
                Some("a.jpg".to_owned()),
                None,
                Some("b&c.jpg".to_owned()),
                None
            ]
        );
    }

    #[test]
    fn other_namespaces_and_broken_xml() {
        let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:x="urn:other">
          <entry><x:thumbnail url="not-media.jpg"/></entry></feed>"#;
        assert_eq!(entry_thumbnails(atom.as_bytes()), Some(vec![None]));
        assert_eq!(entry_thumbnails(b"<rss><item></rss>"), None);
    }
}
