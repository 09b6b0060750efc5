//! [`Secret<T>`]: a value (password, token, AUTH payload) that must never reach a log.

use std::fmt;

/// Wraps a sensitive value so that `Debug` and `Display` print `***` instead of it.
///
/// The value is reachable only through [`Secret::expose`] or [`Secret::into_inner`], which makes
/// every place that reads a secret easy to find. There is deliberately no `PartialEq`: comparing
/// secrets should be done in constant time by the code that knows what they are.
#[derive(Clone, Default)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps `value`.
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// Borrows the wrapped value. Do not log the result.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the value. Do not log the result.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Secret(value)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new(String::from("hunter2"));
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(***)");
        assert_eq!(s.expose(), "hunter2");
        assert_eq!(s.into_inner(), "hunter2");
    }
}
