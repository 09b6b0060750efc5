//! The embedded backend passes the conformance battery.

#[test]
fn embedded_backend_passes_the_battery() {
    yubin_store::conformance::run_all(|dir| {
        yubin_store::embedded::Embedded::open(&dir.join("meta.redb"))
            .expect("open embedded backend")
    });
}
