//! The GGUF reader on untrusted bytes: a model file's header, metadata and tensor table, then
//! everything the VRAM budget derives from them. Errors are fine; panics, overflows, hangs and
//! allocations beyond the input's size are findings.
#![no_main]

use aidx_gguf::GgufHeader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = GgufHeader::from_bytes(data) else {
        return;
    };
    let _ = header.tensor_data_len();
    let _ = header.weights_bytes();
    let _ = header.parameter_count();
    let _ = header.check_complete();
    let _ = header.check_supported();
    if let Ok(params) = header.model_params() {
        for layer in 0..params.block_count.min(256) {
            let _ = params.is_sliding_layer(layer);
        }
    }
});
