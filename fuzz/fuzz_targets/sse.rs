//! The Server-Sent Events decoder on a server's bytes, in any chunking. The first byte picks the
//! chunk size; the events must not depend on how the stream was cut.
#![no_main]

use aidx_architect::SseDecoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(cut % 17) + 1;
    let mut whole = SseDecoder::new();
    let at_once = whole.feed(stream);
    let mut pieces = SseDecoder::new();
    let mut events = Vec::new();
    let mut failed = false;
    for part in stream.chunks(chunk) {
        match pieces.feed(part) {
            Ok(more) => events.extend(more),
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    if let (Ok(expected), false) = (at_once, failed) {
        assert_eq!(
            events, expected,
            "events depend on the chunking ({chunk} bytes)"
        );
    }
});
