//! The facade's `using` / `with_resource` with weft's own resources (issue 21).

use std::time::Duration;

use weft::prelude::*;

/// A file written inside a scope that a timeout cancels is still closed (flushed) by the
/// shielded cleanup before `weft::run` returns.
#[test]
fn a_cancelled_using_still_flushes_the_file_before_run_returns() {
    let path = std::env::temp_dir().join(format!("weft-using-{}", std::process::id()));
    let p = path.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        weft::run(async move {
            let file = weft::fs::File::create(&p).await.unwrap();
            let scope = weft::using(file, async |f| {
                f.write_all(b"written before the cancel").await?;
                std::future::pending::<std::io::Result<()>>().await
            });
            assert!(weft::timeout(Duration::from_millis(20), scope)
                .await
                .is_err());
        });
        tx.send(()).unwrap();
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("weft::run did not return (watchdog)");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"written before the cancel",
        "the close flushed before run returned"
    );
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn with_resource_is_exported_with_its_options() {
    let out = weft::run(async {
        weft::ResourceScope::new()
            .cleanup_timeout(weft::DEFAULT_CLEANUP_TIMEOUT)
            .with_resource(
                async { Ok::<_, std::io::Error>(3) },
                async |n| Ok(*n * 2),
                |_n| async { Ok(()) },
            )
            .await
    });
    assert_eq!(out.unwrap(), 6);
}
