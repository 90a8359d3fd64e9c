//! Tests of `parse.rs`: each feed format's way of attaching an image, the
//! preference between them, relative URLs, and malformed documents.

use super::*;

const BASE: &str = "http://feeds.example/news/feed.xml";

fn urls(items: &[FeedItem]) -> Vec<&str> {
    items.iter().map(|i| i.image_url.as_str()).collect()
}

#[test]
fn rss_enclosures_with_an_image_type_or_extension() {
    let rss = r#"<?xml version="1.0"?>
<rss version="2.0"><channel><title>t</title>
  <item><title>typed</title><guid>a</guid>
    <enclosure url="http://img.example/a" type="image/jpeg" length="10"/></item>
  <item><title>by extension</title><guid>b</guid>
    <enclosure url="http://img.example/b.PNG?size=large" length="10"/></item>
  <item><title>podcast</title><guid>c</guid>
    <enclosure url="http://img.example/c.mp3" type="audio/mpeg" length="10"/></item>
  <item><title>no media</title><guid>d</guid></item>
  <item><title>relative</title><guid>e</guid>
    <enclosure url="../img/e.jpg" type="image/jpeg" length="10"/></item>
</channel></rss>"#;
    let items = parse_feed(rss.as_bytes(), BASE).expect("valid RSS");
    assert_eq!(
        urls(&items),
        [
            "http://img.example/a",
            "http://img.example/b.PNG?size=large",
            "http://feeds.example/img/e.jpg",
        ]
    );
    assert_eq!(items[0].id, "a");
    assert_eq!(items[0].title.as_deref(), Some("typed"));
}

#[test]
fn atom_enclosure_links_and_media_rss() {
    let atom = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
  <title>t</title><id>urn:feed</id><updated>2024-01-01T00:00:00Z</updated>
  <entry><title>enclosure</title><id>urn:1</id><updated>2024-01-01T00:00:00Z</updated>
    <link rel="alternate" href="/posts/1.html"/>
    <link rel="enclosure" type="image/png" href="/media/1.png"/></entry>
  <entry><title>media content</title><id>urn:2</id><updated>2024-01-01T00:00:00Z</updated>
    <media:content url="http://cdn.example/2.webp" medium="image" type="image/webp"/></entry>
  <entry><title>thumbnail only</title><id>urn:3</id><updated>2024-01-01T00:00:00Z</updated>
    <media:thumbnail url="thumbs/3.jpg" width="75" height="50"/></entry>
  <entry><title>video with a thumbnail</title><id>urn:4</id><updated>2024-01-01T00:00:00Z</updated>
    <media:content url="http://cdn.example/4.mp4" type="video/mp4"/>
    <media:thumbnail url="http://cdn.example/4.jpg"/></entry>
  <entry><title>page link only</title><id>urn:5</id><updated>2024-01-01T00:00:00Z</updated>
    <link href="/posts/5.html"/></entry>
</feed>"#;
    let items = parse_feed(atom.as_bytes(), BASE).expect("valid Atom");
    assert_eq!(
        urls(&items),
        [
            "http://feeds.example/media/1.png",
            "http://cdn.example/2.webp",
            "http://feeds.example/news/thumbs/3.jpg",
            "http://cdn.example/4.jpg",
        ]
    );
    let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["urn:1", "urn:2", "urn:3", "urn:4"]);
}

#[test]
fn rss_media_content_is_preferred_to_its_thumbnail() {
    let rss = r#"<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>
  <title>t</title>
  <item><guid>x</guid>
    <media:thumbnail url="http://cdn.example/x-small.jpg"/>
    <media:content url="http://cdn.example/x.jpg" type="image/jpeg"/></item>
</channel></rss>"#;
    let items = parse_feed(rss.as_bytes(), BASE).expect("valid RSS");
    assert_eq!(urls(&items), ["http://cdn.example/x.jpg"]);
}

#[test]
fn json_feed_image_and_attachments() {
    let json = r#"{
  "version": "https://jsonfeed.org/version/1.1", "title": "t",
  "items": [
    {"id": "1", "title": "main image", "image": "/i/1.jpg",
     "attachments": [{"url": "/i/1-att.png", "mime_type": "image/png"}]},
    {"id": "2", "attachments": [
        {"url": "/a/2.mp3", "mime_type": "audio/mpeg"},
        {"url": "https://cdn.example/2.gif", "mime_type": "image/gif"}]},
    {"id": "3", "url": "https://site.example/3.html", "content_text": "no image"}
  ]}"#;
    let items = parse_feed(json.as_bytes(), BASE).expect("valid JSON Feed");
    assert_eq!(
        urls(&items),
        ["http://feeds.example/i/1.jpg", "https://cdn.example/2.gif"]
    );
    assert_eq!(items[0].title.as_deref(), Some("main image"));
    assert_eq!(items[1].id, "2");
}

#[test]
fn malformed_documents_name_the_feed_url() {
    for bad in [
        b"<html><body>not a feed</body></html>".as_slice(),
        b"<rss version=\"2.0\"><channel><item><title>cut",
        b"{\"version\": 1, \"items\": [",
        b"plain text",
        b"",
    ] {
        let err = parse_feed(bad, BASE).expect_err("malformed");
        let FeedError::Malformed { url, message } = &err else {
            panic!("{bad:?}: {err}");
        };
        assert_eq!(url, BASE);
        assert!(!message.is_empty());
        assert!(err.to_string().contains(BASE), "{err}");
    }
}

#[test]
fn the_feed_url_must_be_http() {
    let err = parse_feed(b"<rss version=\"2.0\"/>", "file:///feed.xml").expect_err("file URL");
    assert!(matches!(err, FeedError::BadUrl { .. }), "{err}");
}

#[test]
fn image_extensions_ignore_query_and_case() {
    assert!(has_image_extension("http://h/a.JPEG?x=1#y"));
    assert!(has_image_extension("http://h/a.tiff"));
    assert!(!has_image_extension("http://h/a.html?img=b.jpg"));
    assert!(!has_image_extension("http://h/jpg"));
    assert!(is_image(Some("Image/PNG"), "http://h/x"));
    assert!(!is_image(Some("text/html"), "http://h/x"));
}
