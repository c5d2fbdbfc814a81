//! What goes out compressed: the bundle from its precompressed copies, pages
//! as they are sent; never server functions, exports or pages that carry a
//! token or a secret (BREACH).

use crate::helpers::{Backend, TestApp};
use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING};

#[tokio::test]
async fn the_bundle_and_pages_are_compressed_and_secrets_never() {
    let site = std::env::temp_dir().join(format!("portico-site-{}", std::process::id()));
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    let script = "console.log('portico');\n".repeat(50);
    std::fs::write(site.join("pkg/app.js"), &script).unwrap();
    std::fs::write(site.join("pkg/app.js.br"), b"stored brotli bytes").unwrap();
    std::fs::write(site.join("pkg/app.js.gz"), b"stored gzip bytes").unwrap();
    std::fs::write(site.join("pkg/plain.js"), &script).unwrap();
    let root = site.to_string_lossy().into_owned();
    let app = TestApp::spawn_with(Backend::Sqlite, move |c| c.site_root = root).await;
    let http = reqwest::Client::new();
    let get = |path: &str, accept: Option<&str>| {
        let mut req = http.get(app.url(path));
        if let Some(a) = accept {
            req = req.header(ACCEPT_ENCODING, a);
        }
        async move {
            let res = req.send().await.unwrap();
            let encoding = res
                .headers()
                .get(CONTENT_ENCODING)
                .map(|v| v.to_str().unwrap().to_owned());
            (res.status().as_u16(), encoding, res.bytes().await.unwrap())
        }
    };

    // The bundle: the stored copy the client accepts, else the file.
    let (status, encoding, body) = get("/pkg/app.js", Some("br, gzip")).await;
    assert_eq!((status, encoding.as_deref()), (200, Some("br")));
    assert_eq!(&body[..], b"stored brotli bytes");
    // Caches keep one copy per encoding.
    let res = http
        .get(app.url("/pkg/app.js"))
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers().get("vary").map(|v| v.to_str().unwrap()),
        Some("accept-encoding")
    );
    let (_, encoding, body) = get("/pkg/app.js", Some("gzip")).await;
    assert_eq!(
        (encoding.as_deref(), &body[..]),
        (Some("gzip"), &b"stored gzip bytes"[..])
    );
    let (_, encoding, body) = get("/pkg/app.js", None).await;
    assert_eq!((encoding, body.len()), (None, script.len()));
    // Without a stored copy it goes out as it is, never compressed per request.
    let (status, encoding, body) = get("/pkg/plain.js", Some("br, gzip")).await;
    assert_eq!((status, encoding, body.len()), (200, None, script.len()));
    assert_eq!(get("/pkg/missing.js", Some("gzip")).await.0, 404);

    // Pages are compressed as they are sent.
    let (status, encoding, compressed) = get("/signin", Some("gzip")).await;
    assert_eq!((status, encoding.as_deref()), (200, Some("gzip")));
    let (_, encoding, plain) = get("/signin", None).await;
    assert_eq!(encoding, None);
    assert!(
        compressed.len() < plain.len() / 2,
        "{} of {}",
        compressed.len(),
        plain.len()
    );

    // Never: pages that carry a token from their link or show a secret,
    // server functions, exports.
    for page in [
        "/setup?token=abc",
        "/reset?token=abc",
        "/verify-email?token=abc",
        "/join?token=abc",
        "/account",
        "/signin/code",
    ] {
        let (_, encoding, _) = get(page, Some("br, gzip")).await;
        assert_eq!(encoding, None, "{page}");
    }
    let client = app.sign_up("owner@compress.example", "Compress Co").await;
    let org = client
        .me()
        .await
        .unwrap()
        .active_org_id
        .unwrap()
        .to_string();
    let res = client
        .http
        .post(format!("{}/api/key_form", client.base))
        .header(ACCEPT_ENCODING, "br, gzip")
        .form(&[("org_id", org.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers().get(CONTENT_ENCODING).is_none(),
        "server functions carry secrets"
    );
    let res = client
        .http
        .get(format!("{}/exports/keys.csv", client.base))
        .header(ACCEPT_ENCODING, "br, gzip")
        .send()
        .await
        .unwrap();
    assert!(
        res.headers().get(CONTENT_ENCODING).is_none(),
        "{:?}",
        res.headers()
    );
    let _ = std::fs::remove_dir_all(&site);
}
