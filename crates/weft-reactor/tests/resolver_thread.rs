//! Literal addresses never go through the resolver thread; host names do, off the calling
//! thread. Its own test binary, so the thread list is this test's alone.

use weft_reactor::block_on;
use weft_reactor::net::TcpStream;

fn resolver_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "weft-resolver")
        .count()
}

#[test]
fn only_host_names_use_the_resolver_thread() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    block_on(async {
        TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        TcpStream::connect(format!("127.0.0.1:{port}"))
            .await
            .unwrap();
        TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    });
    assert_eq!(resolver_threads(), 0, "a literal address used the resolver");
    let caller = std::thread::current().id();
    block_on(async {
        TcpStream::connect(("localhost", port)).await.unwrap();
        assert_eq!(std::thread::current().id(), caller);
    });
    assert!(
        resolver_threads() >= 1,
        "the host name was resolved in place"
    );
}
