use super::*;

fn ok(line: &str) -> Command {
    match parse_command(line.as_bytes(), &[]) {
        Ok(c) => c,
        Err(e) => panic!("{line:?}: {}", e.message),
    }
}

#[test]
fn noop() {
    assert!(matches!(ok("a1 NOOP\r\n").body, CommandBody::Noop));
}
