//! A [`std::fmt::Write`] sink that gzip-compresses what it is given (fast level), so a `/metrics`
//! render holds the compressed body only. Small writes (the encoder writes a label at a time) are
//! gathered first, so the compressor works on large blocks.

use std::fmt;
use std::io::{BufWriter, Write};

use flate2::Compression;
use flate2::write::GzEncoder;

/// Compresses everything written to it.
pub struct Sink {
    out: BufWriter<GzEncoder<Vec<u8>>>,
}

impl Sink {
    pub fn new() -> Sink {
        Sink {
            out: BufWriter::with_capacity(
                64 * 1024,
                GzEncoder::new(Vec::new(), Compression::fast()),
            ),
        }
    }

    /// The gzip stream, complete with its trailer.
    pub fn finish(self) -> Result<Vec<u8>, fmt::Error> {
        let encoder = self.out.into_inner().map_err(|_| fmt::Error)?;
        encoder.finish().map_err(|_| fmt::Error)
    }
}

impl fmt::Write for Sink {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Writing into a Vec cannot fail short of memory.
        self.out.write_all(s.as_bytes()).map_err(|_| fmt::Error)
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;
    use std::io::Read;

    #[test]
    fn what_is_written_comes_back_out_of_gunzip() {
        let mut sink = super::Sink::new();
        let mut text = String::new();
        for i in 0..50_000 {
            let line = format!(
                "bmc_up{{mac=\"02:00:00:00:{:02x}:{:02x}\"}} 1\n",
                i / 256 % 256,
                i % 256
            );
            sink.write_str(&line).expect("write");
            text.push_str(&line);
        }
        let gz = sink.finish().expect("finish");
        assert!(
            gz.len() * 5 < text.len(),
            "{} bytes compressed to {}",
            text.len(),
            gz.len()
        );
        let mut back = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut back)
            .expect("gunzip");
        assert_eq!(back, text);
    }
}
