//! End-to-end tests of [`FeedMirror`]'s limits and failures against the
//! loopback [`TestServer`]: refusals (size, signature, scheme), a missing or
//! malformed feed keeping the last good list, image errors retried,
//! `max_items`, and a shutdown that does not wait for a hanging server.

use std::fs;
use std::time::{Duration, Instant};

use crate::feed::test_server::{Route, TestServer};
use crate::feed::test_support::{WAIT, config, first, png, refresh, rss};
use crate::feed::{FeedConfig, FeedError, FeedMirror};

#[test]
fn oversized_and_non_image_bodies_are_refused_and_the_others_mirrored() {
    let server = TestServer::start();
    let small = png(1);
    let limit = small.len() as u64 + 16;
    server.set("/ok.png", Route::ok("image/png", small.clone()));
    // Refused on its Content-Length, before the body is read.
    server.set(
        "/declared.png",
        Route::Declared {
            length: limit + 1,
            body: png(2),
        },
    );
    // No Content-Length: refused once reading passes the limit.
    let mut big = png(3);
    big.resize(usize::try_from(limit).expect("small") * 4, 0);
    server.set("/unsized.png", Route::Unsized { body: big });
    server.set(
        "/page.jpg",
        Route::ok("image/jpeg", "<html>not an image</html>"),
    );
    let urls = ["/ok.png", "/declared.png", "/unsized.png", "/page.jpg"];
    server.set("/feed", Route::ok("application/rss+xml", rss(&urls)));
    let dir = tempfile::tempdir().expect("temp dir");

    let config = FeedConfig {
        max_image_bytes: limit,
        ..config(&server, dir.path())
    };
    let mirror = FeedMirror::start(config).expect("start");
    let state = first(&mirror);

    assert_eq!(state.images.len(), 1);
    assert_eq!(fs::read(&state.images[0]).expect("ok image"), small);
    assert_eq!((state.downloaded, state.refused), (1, 3));
    let Some(FeedError::Images {
        failed,
        total,
        first,
    }) = &state.last_error
    else {
        panic!("want an image summary, got {:?}", state.last_error);
    };
    assert_eq!((*failed, *total), (3, 4));
    assert!(
        matches!(**first, FeedError::TooLarge { declared: Some(d), .. } if d == limit + 1),
        "{first}"
    );
    let files = fs::read_dir(dir.path()).expect("list").count();
    assert_eq!(files, 1, "nothing partial or refused is left in the mirror");

    // Refused URLs are remembered: not fetched nor counted again.
    let again = refresh(&mirror, &state);
    assert_eq!((again.downloaded, again.refused), (1, 3));
    assert_eq!(server.hits("/page.jpg"), 1);
    assert_eq!(server.hits("/unsized.png"), 1);
    let message = again.last_error.expect("still summarised").to_string();
    assert!(
        message.starts_with("3 of 4 images not mirrored"),
        "{message}"
    );
}

#[test]
fn non_image_bodies_and_non_http_urls_are_refused() {
    let server = TestServer::start();
    server.set("/x.png", Route::ok("image/png", "<html>oops</html>"));
    let urls = [
        "/x.png",
        "ftp://files.example/y.png",
        "data:image/png;base64,iVBO",
    ];
    server.set("/feed", Route::ok("application/rss+xml", rss(&urls)));
    let dir = tempfile::tempdir().expect("temp dir");

    let mirror = FeedMirror::start(config(&server, dir.path())).expect("start");
    let state = first(&mirror);

    assert!(state.images.is_empty());
    assert_eq!(state.refused, 3);
    let Some(FeedError::Images { first, .. }) = &state.last_error else {
        panic!("{:?}", state.last_error);
    };
    assert_eq!(
        **first,
        FeedError::NotAnImage {
            url: server.url("/x.png"),
            magic: "3c 68 74 6d 6c 3e 6f 6f".to_owned(),
        }
    );
}

#[test]
fn a_missing_or_malformed_feed_keeps_the_last_good_list() {
    let server = TestServer::start();
    server.set("/a.png", Route::ok("image/png", png(1)));
    server.set("/feed", Route::ok("application/rss+xml", rss(&["/a.png"])));
    let dir = tempfile::tempdir().expect("temp dir");
    let mirror = FeedMirror::start(config(&server, dir.path())).expect("start");
    let good = first(&mirror);
    assert_eq!(good.images.len(), 1);

    server.set(
        "/feed",
        Route::Body {
            status: 404,
            content_type: "text/plain",
            body: b"gone".to_vec(),
        },
    );
    let missing = refresh(&mirror, &good);
    assert_eq!(
        missing.last_error,
        Some(FeedError::Status {
            url: server.url("/feed"),
            status: 404
        })
    );
    assert_eq!(missing.images, good.images);
    assert_eq!(missing.last_ok_unix_ms, good.last_ok_unix_ms);
    assert_eq!(missing.failures, 1);

    server.set(
        "/feed",
        Route::ok("application/rss+xml", "<rss version=\"2.0\"><chan"),
    );
    let malformed = refresh(&mirror, &missing);
    let Some(FeedError::Malformed { url, .. }) = &malformed.last_error else {
        panic!("{:?}", malformed.last_error);
    };
    assert_eq!(url, &server.url("/feed"));
    assert_eq!(malformed.images, good.images);
    assert_eq!(malformed.failures, 2);
    assert!(good.images[0].exists(), "a failed refresh removes nothing");
}

#[test]
fn max_items_bounds_the_images_fetched() {
    let server = TestServer::start();
    for path in ["/1.png", "/2.png", "/3.png"] {
        server.set(path, Route::ok("image/png", png(9)));
    }
    server.set(
        "/feed",
        Route::ok("application/rss+xml", rss(&["/1.png", "/2.png", "/3.png"])),
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let config = FeedConfig {
        max_items: 2,
        ..config(&server, dir.path())
    };
    let mirror = FeedMirror::start(config).expect("start");
    let state = first(&mirror);
    assert_eq!(state.images.len(), 2);
    assert_eq!(server.hits("/3.png"), 0);
}

#[test]
fn start_refuses_bad_urls_and_creates_the_mirror_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let err = FeedMirror::start(FeedConfig::new("file:///etc/feed.xml", dir.path()))
        .err()
        .expect("file URL refused");
    assert!(matches!(err, FeedError::BadUrl { .. }), "{err}");

    let server = TestServer::start();
    let nested = dir.path().join("a/b");
    let mirror = FeedMirror::start(config(&server, &nested)).expect("start");
    assert!(nested.is_dir());
    let state = first(&mirror);
    assert_eq!(
        state.last_error,
        Some(FeedError::Status {
            url: server.url("/feed"),
            status: 404
        })
    );
}

#[test]
fn snapshot_and_drop_do_not_wait_for_a_hanging_server() {
    let server = TestServer::start();
    server.set("/feed", Route::Hang);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = FeedConfig {
        timeout: Duration::from_millis(500),
        ..config(&server, dir.path())
    };
    let mirror = FeedMirror::start(config).expect("start");
    let started = Instant::now();
    let state = mirror.snapshot();
    assert_eq!(state.fetches, 0);
    let timed_out = mirror.wait_refreshed(0, WAIT);
    assert!(
        matches!(timed_out.last_error, Some(FeedError::Fetch { .. })),
        "{:?}",
        timed_out.last_error
    );
    drop(mirror);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_failed_image_is_retried_at_the_next_refresh() {
    let server = TestServer::start();
    server.set(
        "/feed",
        Route::ok("application/rss+xml", rss(&["/later.png"])),
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let mirror = FeedMirror::start(config(&server, dir.path())).expect("start");
    let missing = first(&mirror);
    assert!(missing.images.is_empty());
    assert_eq!((missing.image_failures, missing.refused), (1, 0));
    let Some(FeedError::Images { first, .. }) = &missing.last_error else {
        panic!("{:?}", missing.last_error);
    };
    assert!(
        matches!(**first, FeedError::Status { status: 404, .. }),
        "{first}"
    );

    server.set("/later.png", Route::ok("image/png", png(4)));
    let found = refresh(&mirror, &missing);
    assert_eq!(found.images.len(), 1);
    assert_eq!(found.last_error, None);
    assert_eq!(server.hits("/later.png"), 2);
}
