//! End-to-end tests of [`FeedMirror`] against the loopback [`TestServer`]:
//! each feed format, relative URLs, periodic refresh, pruning, and no second
//! download.

use std::fs;
use std::time::Duration;

use crate::feed::test_server::{Route, TestServer};
use crate::feed::test_support::{WAIT, config, first, jpeg, names, png, refresh, rss};
use crate::feed::{FeedConfig, FeedMirror};

#[test]
fn rss_enclosures_are_mirrored_in_feed_order_with_relative_urls() {
    let server = TestServer::start();
    let (a, b, c) = (png(10), jpeg(20), png(30));
    server.set("/img/a.png", Route::ok("image/png", a.clone()));
    // Served as PNG by name, but the body is a JPEG: the signature decides.
    server.set("/img/b.png", Route::ok("image/png", b.clone()));
    server.set("/rel/c.png", Route::ok("image/png", c.clone()));
    let feed = rss(&[&server.url("/img/a.png"), "/img/b.png", "rel/c.png"]);
    server.set("/feed", Route::ok("application/rss+xml", feed));
    // The feed is at /feed: "rel/c.png" resolves to /rel/c.png.
    let dir = tempfile::tempdir().expect("temp dir");

    let mirror = FeedMirror::start(config(&server, dir.path())).expect("start");
    let state = first(&mirror);

    assert_eq!(state.last_error, None);
    assert_eq!(state.downloaded, 3);
    assert!(state.last_ok_unix_ms.is_some());
    assert!(!state.refreshing);
    let names = names(&state);
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names[0].starts_with("feed-") && names[0].ends_with(".png"));
    assert!(names[1].ends_with(".jpg"), "{names:?}");
    for (path, want) in state.images.iter().zip([&a, &b, &c]) {
        assert_eq!(&fs::read(path).expect("mirrored file"), want);
        assert!(path.starts_with(dir.path()));
    }
}

#[test]
fn atom_enclosure_links_and_media_rss_are_mirrored() {
    let server = TestServer::start();
    server.set("/a.png", Route::ok("image/png", png(1)));
    server.set("/media/b", Route::ok("image/jpeg", jpeg(2)));
    server.set("/thumbs/c.png", Route::ok("image/png", png(3)));
    let atom = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
  <title>t</title><id>urn:f</id><updated>2024-01-01T00:00:00Z</updated>
  <entry><title>a</title><id>urn:a</id><updated>2024-01-01T00:00:00Z</updated>
    <link rel="enclosure" type="image/png" href="a.png"/></entry>
  <entry><title>b</title><id>urn:b</id><updated>2024-01-01T00:00:00Z</updated>
    <media:content url="/media/b" type="image/jpeg" medium="image"/></entry>
  <entry><title>c</title><id>urn:c</id><updated>2024-01-01T00:00:00Z</updated>
    <media:thumbnail url="thumbs/c.png" width="64" height="48"/></entry>
</feed>"#;
    server.set("/feed", Route::ok("application/atom+xml", atom));
    let dir = tempfile::tempdir().expect("temp dir");

    let mirror = FeedMirror::start(config(&server, dir.path())).expect("start");
    let state = first(&mirror);

    assert_eq!(state.last_error, None);
    let names = names(&state);
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(
        names[0].ends_with(".png") && names[1].ends_with(".jpg"),
        "{names:?}"
    );
    assert_eq!(fs::read(&state.images[2]).expect("thumbnail"), png(3));
    assert_eq!((server.hits("/a.png"), server.hits("/media/b")), (1, 1));
}

#[test]
fn json_feed_image_and_attachments_are_mirrored() {
    let server = TestServer::start();
    server.set("/i/1.png", Route::ok("image/png", png(5)));
    server.set("/i/2.jpg", Route::ok("image/jpeg", jpeg(6)));
    let json = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [
        {"id": "1", "image": "/i/1.png"},
        {"id": "2", "attachments": [{"url": "i/2.jpg", "mime_type": "image/jpeg"}]}]}"#;
    server.set("/feed", Route::ok("application/feed+json", json));
    let dir = tempfile::tempdir().expect("temp dir");

    let mirror = FeedMirror::start(config(&server, dir.path())).expect("start");
    let state = first(&mirror);

    assert_eq!(state.last_error, None);
    assert_eq!(state.downloaded, 2);
    assert_eq!(fs::read(&state.images[0]).expect("image 1"), png(5));
}

#[test]
fn dropped_images_are_removed_and_kept_ones_not_downloaded_again() {
    let server = TestServer::start();
    server.set("/a.png", Route::ok("image/png", png(1)));
    server.set("/b.png", Route::ok("image/png", png(2)));
    server.set(
        "/feed",
        Route::ok("application/rss+xml", rss(&["/a.png", "/b.png"])),
    );
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(dir.path().join("notes.txt"), "not the mirror's").expect("foreign file");
    let mirror = FeedMirror::start(config(&server, dir.path())).expect("start");
    let both = first(&mirror);
    assert_eq!(both.images.len(), 2);

    let same = refresh(&mirror, &both);
    assert_eq!(same.images, both.images);
    assert_eq!(same.downloaded, 2, "nothing downloaded twice");
    assert_eq!((server.hits("/a.png"), server.hits("/b.png")), (1, 1));
    assert_eq!(server.hits("/feed"), 2);

    server.set("/feed", Route::ok("application/rss+xml", rss(&["/b.png"])));
    let only_b = refresh(&mirror, &same);
    assert_eq!(only_b.images, &both.images[1..]);
    assert!(!both.images[0].exists(), "the dropped image is removed");
    assert!(both.images[1].exists());
    assert!(
        dir.path().join("notes.txt").exists(),
        "foreign files are kept"
    );

    // A new mirror over the same directory reuses the files on disk.
    drop(mirror);
    let mirror = FeedMirror::start(config(&server, dir.path())).expect("restart");
    let restarted = first(&mirror);
    assert_eq!(restarted.images, only_b.images);
    assert_eq!(restarted.downloaded, 0);
    assert_eq!(server.hits("/b.png"), 1);
}

#[test]
fn the_interval_refreshes_without_being_asked() {
    let server = TestServer::start();
    server.set("/feed", Route::ok("application/rss+xml", rss(&[])));
    let dir = tempfile::tempdir().expect("temp dir");
    let config = FeedConfig {
        refresh: Duration::from_millis(50),
        ..config(&server, dir.path())
    };
    let mirror = FeedMirror::start(config).expect("start");
    let state = mirror.wait_refreshed(2, WAIT);
    assert!(state.fetches >= 3, "{state:?}");
    assert_eq!(state.last_error, None);
}
