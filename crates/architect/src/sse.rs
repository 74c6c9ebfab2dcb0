//! An incremental Server-Sent Events decoder (the parts of the WHATWG spec chat APIs use).
//!
//! Bytes go in as they arrive, in any chunking; complete events come out. Lines end in `\n`, `\r\n` or `\r`;
//! `data:` lines of one event are joined with `\n`; a blank line dispatches the event; `:` lines are comments.

/// One dispatched event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// The decoder's state between chunks.
#[derive(Debug, Default)]
pub struct SseDecoder {
    pending: Vec<u8>,
    skip_lf: bool,
    event: Option<String>,
    data: Option<String>,
}

/// A line that is not UTF-8.
#[derive(Debug, thiserror::Error)]
#[error("event stream line is not valid UTF-8")]
pub struct InvalidUtf8;

impl SseDecoder {
    /// A fresh decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds a chunk and returns the events it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, InvalidUtf8> {
        let mut events = Vec::new();
        for &byte in chunk {
            if self.skip_lf {
                self.skip_lf = false;
                if byte == b'\n' {
                    continue;
                }
            }
            match byte {
                b'\n' | b'\r' => {
                    self.skip_lf = byte == b'\r';
                    let line = std::mem::take(&mut self.pending);
                    let line = String::from_utf8(line).map_err(|_| InvalidUtf8)?;
                    if let Some(event) = self.take_line(&line) {
                        events.push(event);
                    }
                }
                _ => self.pending.push(byte),
            }
        }
        Ok(events)
    }

    /// Whether bytes of an event that was never dispatched are buffered (a stream cut mid-event).
    pub fn has_partial_event(&self) -> bool {
        !self.pending.is_empty() || self.data.is_some() || self.event.is_some()
    }

    fn take_line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            let data = self.data.take();
            let event = self.event.take();
            return data.map(|data| SseEvent { event, data });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            "event" => self.event = Some(value.to_string()),
            _ => {} // id, retry and unknown fields do not matter here.
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_chunks(input: &[u8], size: usize) -> (Vec<SseEvent>, bool) {
        let mut decoder = SseDecoder::new();
        let mut events = Vec::new();
        for chunk in input.chunks(size) {
            events.extend(decoder.feed(chunk).unwrap());
        }
        (events, decoder.has_partial_event())
    }

    #[test]
    fn any_chunking_gives_the_same_events() {
        let input = "event: message_start\ndata: {\"a\":1}\n\n: ping comment\r\ndata: x\r\ndata: y\r\n\r\ndata:z\r\r"
            .as_bytes();
        let expected = vec![
            SseEvent {
                event: Some("message_start".into()),
                data: "{\"a\":1}".into(),
            },
            SseEvent {
                event: None,
                data: "x\ny".into(),
            },
            SseEvent {
                event: None,
                data: "z".into(),
            },
        ];
        for size in 1..input.len() {
            let (events, partial) = decode_in_chunks(input, size);
            assert_eq!(events, expected, "chunk size {size}");
            assert!(!partial);
        }
    }

    #[test]
    fn multibyte_text_split_across_chunks() {
        let input = "data: héllo → wörld\n\n".as_bytes();
        let (events, _) = decode_in_chunks(input, 1);
        assert_eq!(events[0].data, "héllo → wörld");
    }

    #[test]
    fn cut_mid_event_is_reported_as_partial() {
        let (events, partial) = decode_in_chunks(b"data: {\"ok\":1}\n\ndata: {\"cho", 4);
        assert_eq!(events.len(), 1);
        assert!(partial);
        let (_, partial) = decode_in_chunks(b"data: {\"ok\":1}\n", 4);
        assert!(
            partial,
            "data line without the blank line that dispatches it"
        );
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let mut decoder = SseDecoder::new();
        assert!(decoder.feed(b"data: \xff\xfe\n").is_err());
    }
}
