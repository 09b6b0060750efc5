//! Helpers shared by the property tests.

/// Splits `data` into chunks at the given (unsorted, possibly out-of-range) cut points.
pub fn chunks<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    cuts.push(0);
    cuts.push(data.len());
    cuts.sort_unstable();
    cuts.windows(2).map(|w| &data[w[0]..w[1]]).collect()
}
