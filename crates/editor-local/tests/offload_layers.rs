//! Layer offload on real GGUF headers: aidx's per-layer sizes against llama.cpp's own GGUF
//! reader (`gguf_get_tensor_size`, linked from the llama.cpp build the engine uses), and the
//! layers that fit a given free memory recomputed from llama.cpp's sizes.

mod gguf_common;

use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::path::Path;

use aidx_editor_local::budget::{KvType, ModelShape, OverheadModel};
use aidx_editor_local::gguf::GgufHeader;
use aidx_editor_local::offload::{self, LayerLayout};
use gguf_common::{QWEN7B_PART, SMOLLM2, model};

/// Each tensor's name and bytes as llama.cpp reads them (header only: no tensor data is read).
fn llama_cpp_tensor_sizes(path: &Path) -> BTreeMap<String, u64> {
    let name = CString::new(path.to_str().unwrap()).unwrap();
    let params = llama_cpp_sys_2::gguf_init_params {
        no_alloc: true,
        ctx: std::ptr::null_mut(),
    };
    // SAFETY: a valid NUL-terminated path; the context is freed below and its strings are copied
    // before that.
    unsafe {
        let ctx = llama_cpp_sys_2::gguf_init_from_file(name.as_ptr(), params);
        assert!(
            !ctx.is_null(),
            "llama.cpp could not read {}",
            path.display()
        );
        let n = llama_cpp_sys_2::gguf_get_n_tensors(ctx);
        let sizes = (0..n)
            .map(|i| {
                let name = CStr::from_ptr(llama_cpp_sys_2::gguf_get_tensor_name(ctx, i));
                (
                    name.to_string_lossy().into_owned(),
                    llama_cpp_sys_2::gguf_get_tensor_size(ctx, i) as u64,
                )
            })
            .collect();
        llama_cpp_sys_2::gguf_free(ctx);
        sizes
    }
}

/// llama.cpp's sizes grouped the way its loader places them: `blk.N.*` per block, the output
/// layer (`output.*`, `output_norm.*`), and the input layer (everything else).
struct LlamaCppLayers {
    input: u64,
    blocks: Vec<u64>,
    output: u64,
    token_embd: u64,
    has_output_weight: bool,
}

fn llama_cpp_layers(sizes: &BTreeMap<String, u64>, n_blocks: usize) -> LlamaCppLayers {
    let mut l = LlamaCppLayers {
        input: 0,
        blocks: vec![0; n_blocks],
        output: 0,
        token_embd: 0,
        has_output_weight: false,
    };
    for (name, &bytes) in sizes {
        let parts: Vec<&str> = name.split('.').collect();
        if parts[0] == "blk" {
            l.blocks[parts[1].parse::<usize>().unwrap()] += bytes;
        } else if parts[0] == "output" || parts[0] == "output_norm" {
            l.has_output_weight |= name == "output.weight";
            l.output += bytes;
        } else {
            if name == "token_embd.weight" {
                l.token_embd = bytes;
            }
            l.input += bytes;
        }
    }
    l
}

fn ours(path: &Path) -> (ModelShape, LayerLayout) {
    let header = GgufHeader::read(path).unwrap();
    let shape = ModelShape::from_header(&header).unwrap();
    let layout = LayerLayout::from_shape(&shape, None);
    assert_eq!(layout.file_bytes(), header.weights_bytes());
    (shape, layout)
}

fn same_layers_as_llama_cpp(path: &Path) -> (ModelShape, LayerLayout, LlamaCppLayers) {
    let (shape, layout) = ours(path);
    let sizes = llama_cpp_tensor_sizes(path);
    let theirs = llama_cpp_layers(&sizes, shape.layers.len());
    assert_eq!(layout.block_bytes, theirs.blocks, "per-block bytes");
    assert_eq!(layout.input_bytes, theirs.input, "input layer bytes");
    assert_eq!(layout.output_bytes, theirs.output, "output layer bytes");
    let tied = if theirs.has_output_weight {
        0
    } else {
        theirs.token_embd
    };
    assert_eq!(layout.tied_copy_bytes, tied, "tied output copy");
    (shape, layout, theirs)
}

/// The GPU side of `n_gpu_layers = n`, from llama.cpp's sizes and its placement rule
/// (`i_gpu_start = n_layer + 1 - n`), with aidx's KV and overhead terms.
fn gpu_side_from_llama_cpp(
    shape: &ModelShape,
    theirs: &LlamaCppLayers,
    kv: KvType,
    ctx: u64,
    n: usize,
) -> u64 {
    if n == 0 {
        return 0;
    }
    let n_blocks = theirs.blocks.len();
    let first = n_blocks + 1 - n;
    let kv_per_block: Vec<u64> = shape.layer_kv_bytes(kv, ctx).collect();
    let blocks: u64 = (first..n_blocks)
        .map(|i| theirs.blocks[i] + kv_per_block[i])
        .sum();
    let output = theirs.output
        + if theirs.has_output_weight {
            0
        } else {
            theirs.token_embd
        };
    blocks + output + OverheadModel::LLAMA_CPP_GPU.overhead(shape, ctx).total()
}

fn expected_layers(shape: &ModelShape, theirs: &LlamaCppLayers, ctx: u64, free: u64) -> u32 {
    (0..=theirs.blocks.len() + 1)
        .rev()
        .find(|&n| gpu_side_from_llama_cpp(shape, theirs, KvType::F16, ctx, n) <= free)
        .unwrap() as u32
}

#[test]
fn a_7b_header_splits_where_llama_cpps_sizes_say() {
    let Some(path) = model(QWEN7B_PART) else {
        return;
    };
    let (shape, layout, theirs) = same_layers_as_llama_cpp(&path);
    assert_eq!(layout.offloadable(), 29, "28 blocks + the output layer");
    assert!(!layout.block_bytes.is_empty() && layout.tied_copy_bytes == 0);
    let ctx = 8192;
    let whole = gpu_side_from_llama_cpp(&shape, &theirs, KvType::F16, ctx, 29);
    // A 4, 6 and 8 GiB card's free memory, and exactly the whole model.
    for free in [4u64 << 30, 5 << 30, 6 << 30, whole, whole - 1] {
        let plan = offload::plan(&shape, &layout, KvType::F16, ctx, free);
        let expected = expected_layers(&shape, &theirs, ctx, free);
        assert_eq!(plan.gpu_layers, expected, "free {free}");
        assert!(plan.gpu.total() <= free);
        assert_eq!(
            plan.gpu.total(),
            gpu_side_from_llama_cpp(&shape, &theirs, KvType::F16, ctx, expected as usize)
        );
        // One more layer would not fit.
        if plan.gpu_layers < plan.offloadable {
            let (next, _) = offload::split(&shape, &layout, KvType::F16, ctx, plan.gpu_layers + 1);
            assert!(next.total() > free, "free {free}: one more layer fits");
        }
    }
    assert!(offload::plan(&shape, &layout, KvType::F16, ctx, whole).is_whole());
    assert!(!offload::plan(&shape, &layout, KvType::F16, ctx, whole - 1).is_whole());
    // Every weight is on exactly one side.
    let plan = offload::plan(&shape, &layout, KvType::F16, ctx, 5 << 30);
    assert!(plan.gpu_layers > 1 && plan.gpu_layers < 29, "{plan:?}");
    assert_eq!(
        plan.gpu.weights_bytes + plan.cpu.weights_bytes,
        layout.file_bytes()
    );
    assert_eq!(
        plan.gpu.kv_bytes + plan.cpu.kv_bytes,
        shape.kv_bytes(KvType::F16, ctx)
    );
    // Too little for the output layer and the CUDA floor: nothing on the GPU.
    let none = offload::plan(&shape, &layout, KvType::F16, ctx, 256 << 20);
    assert_eq!(none.gpu_layers, 0);
    assert_eq!(none.gpu.total(), 0);
}

#[test]
fn a_tied_model_puts_a_copy_of_its_embedding_on_the_output_layer() {
    let Some(path) = model(SMOLLM2) else { return };
    let (shape, layout, theirs) = same_layers_as_llama_cpp(&path);
    assert!(
        !theirs.has_output_weight,
        "SmolLM2 ties its output to token_embd"
    );
    assert_eq!(layout.tied_copy_bytes, theirs.token_embd);
    let ctx = 2048;
    let (gpu, cpu) = offload::split(&shape, &layout, KvType::F16, ctx, 1);
    // The output layer alone: output_norm + the copy, no block, no KV.
    assert_eq!(gpu.weights_bytes, theirs.output + theirs.token_embd);
    assert_eq!(gpu.kv_bytes, 0);
    assert_eq!(
        cpu.weights_bytes,
        theirs.input + theirs.blocks.iter().sum::<u64>()
    );
    let (gpu, _) = offload::split(&shape, &layout, KvType::F16, ctx, 31);
    assert_eq!(gpu.kv_bytes, shape.kv_bytes(KvType::F16, ctx));
    for free in [600u64 << 20, 620 << 20, 700 << 20] {
        let plan = offload::plan(&shape, &layout, KvType::F16, ctx, free);
        assert_eq!(plan.gpu_layers, expected_layers(&shape, &theirs, ctx, free));
    }
}
