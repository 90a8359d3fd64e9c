//! The `image_decode` actor over a feed, in both placements, against a real
//! HTTP server on loopback: it mirrors the feed's images and serves them
//! decoded exactly as the core decodes the served bytes; a feed that turns
//! malformed keeps the last good list and says what is wrong.
#![allow(clippy::unwrap_used)]

#[path = "support/kernel.rs"]
mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{FAST, boot_full};
use warden_image::actor::{ImageDecode, ImageList, ImageMsg, ImageReply, Scale};
use warden_kernel::probe::checksum;
use warden_kernel::{ActorRef, Placement};

type Routes = Arc<Mutex<HashMap<String, (&'static str, Vec<u8>)>>>;

/// A tiny HTTP/1.1 server: GET of a known path, or 404; one request per connection.
fn serve(routes: Routes) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            // Skip the headers.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
            let found = routes.lock().unwrap().get(&path).cloned();
            let (status, kind, body) = match found {
                Some((kind, body)) => ("200 OK", kind, body),
                None => ("404 Not Found", "text/plain", b"no".to_vec()),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    port
}

fn rss(port: u16) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0"?>
<rss version="2.0"><channel><title>t</title><link>http://127.0.0.1:{port}/</link><description>d</description>
<item><title>one</title><guid>1</guid><enclosure url="http://127.0.0.1:{port}/one.png" type="image/png" length="1"/></item>
<item><title>two</title><guid>2</guid><enclosure url="/two.jpg" type="image/jpeg" length="1"/></item>
</channel></rss>"#
    )
    .into_bytes()
}

async fn list(img: &ActorRef<ImageDecode>, until: impl Fn(&ImageList) -> bool) -> ImageList {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let ImageReply::List(list) = img.call(ImageMsg::List).await.unwrap()
            && until(&list)
        {
            return list;
        }
        assert!(Instant::now() < deadline, "the feed's list never came");
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_feed_is_mirrored_and_served(placement: Placement) {
    let one = warden_image::samples::sample_bytes(1, 320, 200).unwrap(); // PNG
    let two = warden_image::samples::sample_bytes(2, 300, 300).unwrap(); // JPEG
    let routes: Routes = Arc::default();
    routes
        .lock()
        .unwrap()
        .insert("/one.png".into(), ("image/png", one.clone()));
    routes
        .lock()
        .unwrap()
        .insert("/two.jpg".into(), ("image/jpeg", two.clone()));
    let port = serve(Arc::clone(&routes));
    routes
        .lock()
        .unwrap()
        .insert("/feed.xml".into(), ("application/rss+xml", rss(port)));
    let mirror = tempfile::tempdir().unwrap();
    let kernel = boot_full(&format!(
        "{FAST}\n[actors.img]\nkind = \"image_decode\"\nplacement = \"{}\"\nsource = \"feed\"\nfeed_url = \"http://127.0.0.1:{port}/feed.xml\"\nfeed_mirror = \"{}\"\nsize = \"160x100\"\n",
        placement.as_str(),
        mirror.path().display()
    ))
    .await;
    let img = kernel.actor::<ImageDecode>("img").unwrap();
    let listed = list(&img, |list| list.names.len() == 2).await;
    assert_eq!(listed.error, None);
    assert!(listed.names[0].starts_with(&mirror.path().display().to_string()));
    // Decoded exactly as the core decodes the served bytes.
    let spec = warden_image::ScaleSpec::new(160, 100);
    for (index, bytes) in [(0u64, &one), (1, &two)] {
        let ImageReply::Image(frame) = img
            .call(ImageMsg::Nth {
                index,
                scale: Scale::default(),
            })
            .await
            .unwrap()
        else {
            panic!("no image");
        };
        let expected =
            warden_image::load_bytes(bytes, &warden_image::Limits::default(), Some(&spec)).unwrap();
        assert_eq!(
            (frame.width, frame.height),
            expected.image.image.dimensions()
        );
        assert_eq!(
            checksum(&frame.rgba),
            checksum(expected.image.image.pixels()),
            "image {index}"
        );
    }
    // The feed breaks: the last good list stays, and says why.
    routes.lock().unwrap().insert(
        "/feed.xml".into(),
        ("application/rss+xml", b"<rss><channel><item>".to_vec()),
    );
    img.call(ImageMsg::Refresh).await.unwrap();
    let broken = list(&img, |list| list.error.is_some()).await;
    assert_eq!(broken.names, listed.names, "the last good list stays");
    assert!(
        broken.error.as_deref().unwrap().contains("feed.xml"),
        "{broken:?}"
    );
    kernel.shutdown().await;
}

mod inprocess {
    #[actix_rt::test]
    async fn a_feed_is_mirrored_and_served() {
        super::a_feed_is_mirrored_and_served(warden_kernel::Placement::Inprocess).await;
    }
}

mod process {
    #[actix_rt::test]
    async fn a_feed_is_mirrored_and_served() {
        super::a_feed_is_mirrored_and_served(warden_kernel::Placement::Process).await;
    }
}
