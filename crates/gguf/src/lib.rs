//! GGUF reader: header, metadata and tensor table — never the tensor data.
//!
//! The reader is written to be fed untrusted bytes: every count read from the file is bounded by
//! the bytes that remain before it is used to allocate, nested arrays have a depth limit, and every
//! error names the byte offset and what was expected there. [`GgufHeader::read`] works on a
//! truncated file (the budget only needs the header); [`GgufFile::open`] also checks that the file
//! holds all of its tensor data.
//!
//! Format reference: <https://github.com/ggml-org/ggml/blob/master/docs/gguf.md>.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

/// The four bytes every GGUF file starts with.
pub const GGUF_MAGIC: [u8; 4] = *b"GGUF";
/// Tensor data alignment when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml tensors have at most four dimensions.
pub const MAX_DIMS: u32 = 4;
/// Upper bound for any one model dimension (hidden size, heads, head length, vocabulary, FFN
/// width, trained context): 2^24. Larger values mean a corrupt header, and the bound keeps the
/// budget's products far from overflow.
pub const MAX_MODEL_DIM: u64 = 1 << 24;
/// Arrays nested deeper than this are rejected (real files nest at most once).
const MAX_ARRAY_DEPTH: usize = 8;

/// GGUF architectures that mistralrs 0.8.1's GGUF loader turns into a model
/// (`mistralrs-core-0.8.1/src/pipeline/gguf.rs`, `ModelKind::GgufQuantized`). Any other
/// architecture either fails or panics inside the engine, so aidx checks first.
pub const MISTRALRS_GGUF_ARCHITECTURES: &[&str] = &[
    "llama",
    "phi2",
    "phi3",
    "starcoder2",
    "qwen2",
    "qwen3",
    "qwen3moe",
    "mistral3",
];

/// Everything that can go wrong reading a GGUF file.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    /// The file could not be opened or read.
    #[error("cannot read GGUF file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The first four bytes are not `GGUF`.
    #[error(
        "not a GGUF file: found bytes {found:02x?} at offset 0, expected the magic \"GGUF\"; \
         convert the model to GGUF (llama.cpp convert_hf_to_gguf.py) or pick the .gguf file"
    )]
    BadMagic {
        /// The bytes found.
        found: [u8; 4],
    },
    /// A GGUF version this reader does not know.
    #[error(
        "unsupported GGUF version {version} at offset 4: expected 2 or 3; \
         re-convert the model with a current llama.cpp"
    )]
    UnsupportedVersion {
        /// The version found.
        version: u32,
    },
    /// The file ends inside the header.
    #[error(
        "truncated GGUF header: at offset {offset} expected {expected} ({needed} bytes) but the \
         file ends at {file_len}; the download is incomplete or the file is corrupt"
    )]
    UnexpectedEof {
        /// Where the read started.
        offset: u64,
        /// What was being read.
        expected: String,
        /// How many bytes were needed.
        needed: u64,
        /// The length of the input.
        file_len: u64,
    },
    /// A structurally invalid header (absurd count, bad type id, overflow…).
    #[error("corrupt GGUF at offset {offset}: {what}")]
    Corrupt {
        /// Where the bad value was read.
        offset: u64,
        /// What is wrong, and what was expected.
        what: String,
    },
    /// The header is complete but the file lacks part of the tensor data.
    #[error(
        "truncated: expected {expected} bytes of tensor data (from offset {data_offset}), file has \
         {available}; the model file is incomplete — re-download it (its header alone is enough \
         for `aidx budget`)"
    )]
    Truncated {
        /// Bytes of tensor data the tensor table describes.
        expected: u64,
        /// Bytes present after the data offset.
        available: u64,
        /// Where tensor data starts.
        data_offset: u64,
    },
    /// A metadata key the caller needs is absent.
    #[error("GGUF metadata key `{key}` is missing; the file was not written for this architecture")]
    MissingKey {
        /// The key.
        key: String,
    },
    /// A metadata key has a type the caller cannot use.
    #[error("GGUF metadata key `{key}` holds {found}, expected {expected}")]
    WrongType {
        /// The key.
        key: String,
        /// What was found.
        found: String,
        /// What was expected.
        expected: &'static str,
    },
    /// The architecture is not one the embedded engine loads.
    #[error(
        "architecture `{architecture}` is not supported by the embedded engine (mistralrs 0.8.1 \
         loads GGUF architectures: {supported}); use a model of one of those architectures, or \
         the openai-compatible editor with an external engine such as llama.cpp",
        supported = MISTRALRS_GGUF_ARCHITECTURES.join(", ")
    )]
    UnsupportedArchitecture {
        /// `general.architecture` of the file.
        architecture: String,
    },
}

/// Result alias for this module.
pub type Result<T> = std::result::Result<T, GgufError>;

/// A ggml tensor element type, with its block geometry (`ggml.c` `type_traits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs, non_camel_case_types)]
pub enum GgmlType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q8_1,
    Q2_K,
    Q3_K,
    Q4_K,
    Q5_K,
    Q6_K,
    Q8_K,
    IQ2_XXS,
    IQ2_XS,
    IQ3_XXS,
    IQ1_S,
    IQ4_NL,
    IQ3_S,
    IQ2_S,
    IQ4_XS,
    I8,
    I16,
    I32,
    I64,
    F64,
    IQ1_M,
    BF16,
    TQ1_0,
    TQ2_0,
    MXFP4,
}

impl GgmlType {
    /// All known types.
    pub const ALL: [GgmlType; 32] = [
        Self::F32,
        Self::F16,
        Self::Q4_0,
        Self::Q4_1,
        Self::Q5_0,
        Self::Q5_1,
        Self::Q8_0,
        Self::Q8_1,
        Self::Q2_K,
        Self::Q3_K,
        Self::Q4_K,
        Self::Q5_K,
        Self::Q6_K,
        Self::Q8_K,
        Self::IQ2_XXS,
        Self::IQ2_XS,
        Self::IQ3_XXS,
        Self::IQ1_S,
        Self::IQ4_NL,
        Self::IQ3_S,
        Self::IQ2_S,
        Self::IQ4_XS,
        Self::I8,
        Self::I16,
        Self::I32,
        Self::I64,
        Self::F64,
        Self::IQ1_M,
        Self::BF16,
        Self::TQ1_0,
        Self::TQ2_0,
        Self::MXFP4,
    ];

    /// The type for a `ggml_type` id, or `None` for an unknown id.
    pub fn from_id(id: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.id() == id)
    }

    /// The `ggml_type` id stored in GGUF.
    pub fn id(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q4_0 => 2,
            Self::Q4_1 => 3,
            Self::Q5_0 => 6,
            Self::Q5_1 => 7,
            Self::Q8_0 => 8,
            Self::Q8_1 => 9,
            Self::Q2_K => 10,
            Self::Q3_K => 11,
            Self::Q4_K => 12,
            Self::Q5_K => 13,
            Self::Q6_K => 14,
            Self::Q8_K => 15,
            Self::IQ2_XXS => 16,
            Self::IQ2_XS => 17,
            Self::IQ3_XXS => 18,
            Self::IQ1_S => 19,
            Self::IQ4_NL => 20,
            Self::IQ3_S => 21,
            Self::IQ2_S => 22,
            Self::IQ4_XS => 23,
            Self::I8 => 24,
            Self::I16 => 25,
            Self::I32 => 26,
            Self::I64 => 27,
            Self::F64 => 28,
            Self::IQ1_M => 29,
            Self::BF16 => 30,
            Self::TQ1_0 => 34,
            Self::TQ2_0 => 35,
            Self::MXFP4 => 39,
        }
    }

    /// Elements per block.
    pub fn block_size(self) -> u64 {
        match self {
            Self::F32
            | Self::F16
            | Self::BF16
            | Self::I8
            | Self::I16
            | Self::I32
            | Self::I64
            | Self::F64 => 1,
            Self::Q4_0
            | Self::Q4_1
            | Self::Q5_0
            | Self::Q5_1
            | Self::Q8_0
            | Self::Q8_1
            | Self::IQ4_NL
            | Self::MXFP4 => 32,
            _ => 256,
        }
    }

    /// Bytes per block.
    pub fn type_size(self) -> u64 {
        match self {
            Self::F32 | Self::I32 => 4,
            Self::F16 | Self::BF16 | Self::I16 => 2,
            Self::I8 => 1,
            Self::I64 | Self::F64 => 8,
            Self::Q4_0 => 18,
            Self::Q4_1 => 20,
            Self::Q5_0 => 22,
            Self::Q5_1 => 24,
            Self::Q8_0 => 34,
            Self::Q8_1 => 36,
            Self::Q2_K => 84,
            Self::Q3_K => 110,
            Self::Q4_K => 144,
            Self::Q5_K => 176,
            Self::Q6_K => 210,
            Self::Q8_K => 292,
            Self::IQ2_XXS => 66,
            Self::IQ2_XS => 74,
            Self::IQ3_XXS => 98,
            Self::IQ1_S => 50,
            Self::IQ4_NL => 18,
            Self::IQ3_S => 110,
            Self::IQ2_S => 82,
            Self::IQ4_XS => 136,
            Self::IQ1_M => 56,
            Self::TQ1_0 => 54,
            Self::TQ2_0 => 66,
            Self::MXFP4 => 17,
        }
    }

    /// Bits per weight (`type_size × 8 / block_size`).
    pub fn bits_per_weight(self) -> f64 {
        self.type_size() as f64 * 8.0 / self.block_size() as f64
    }

    /// Bytes of `n` elements, or `None` when `n` is not a whole number of blocks or overflows.
    pub fn bytes_for(self, n: u64) -> Option<u64> {
        if !n.is_multiple_of(self.block_size()) {
            return None;
        }
        (n / self.block_size()).checked_mul(self.type_size())
    }

    /// Whether the type is block-quantized (not a plain float/int type).
    pub fn is_quantized(self) -> bool {
        self.block_size() > 1
    }

    /// The type's name as model file names spell it (`Q4_K`, `F16`).
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "F32",
            Self::F16 => "F16",
            Self::Q4_0 => "Q4_0",
            Self::Q4_1 => "Q4_1",
            Self::Q5_0 => "Q5_0",
            Self::Q5_1 => "Q5_1",
            Self::Q8_0 => "Q8_0",
            Self::Q8_1 => "Q8_1",
            Self::Q2_K => "Q2_K",
            Self::Q3_K => "Q3_K",
            Self::Q4_K => "Q4_K",
            Self::Q5_K => "Q5_K",
            Self::Q6_K => "Q6_K",
            Self::Q8_K => "Q8_K",
            Self::IQ2_XXS => "IQ2_XXS",
            Self::IQ2_XS => "IQ2_XS",
            Self::IQ3_XXS => "IQ3_XXS",
            Self::IQ1_S => "IQ1_S",
            Self::IQ4_NL => "IQ4_NL",
            Self::IQ3_S => "IQ3_S",
            Self::IQ2_S => "IQ2_S",
            Self::IQ4_XS => "IQ4_XS",
            Self::I8 => "I8",
            Self::I16 => "I16",
            Self::I32 => "I32",
            Self::I64 => "I64",
            Self::F64 => "F64",
            Self::IQ1_M => "IQ1_M",
            Self::BF16 => "BF16",
            Self::TQ1_0 => "TQ1_0",
            Self::TQ2_0 => "TQ2_0",
            Self::MXFP4 => "MXFP4",
        }
    }
}

impl serde::Serialize for GgmlType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The type tag of a metadata value (`gguf_metadata_value_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum ValueType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
    Bool,
    String,
    Array,
    U64,
    I64,
    F64,
}

impl ValueType {
    /// The type for a GGUF id.
    pub fn from_id(id: u32) -> Option<Self> {
        Some(match id {
            0 => Self::U8,
            1 => Self::I8,
            2 => Self::U16,
            3 => Self::I16,
            4 => Self::U32,
            5 => Self::I32,
            6 => Self::F32,
            7 => Self::Bool,
            8 => Self::String,
            9 => Self::Array,
            10 => Self::U64,
            11 => Self::I64,
            12 => Self::F64,
            _ => return None,
        })
    }

    /// The GGUF id.
    pub fn id(self) -> u32 {
        match self {
            Self::U8 => 0,
            Self::I8 => 1,
            Self::U16 => 2,
            Self::I16 => 3,
            Self::U32 => 4,
            Self::I32 => 5,
            Self::F32 => 6,
            Self::Bool => 7,
            Self::String => 8,
            Self::Array => 9,
            Self::U64 => 10,
            Self::I64 => 11,
            Self::F64 => 12,
        }
    }

    /// The fewest bytes one value of this type occupies in the file (a string or array needs at
    /// least its length/type prefix). Used to bound counts before allocating.
    fn min_encoded_size(self) -> u64 {
        match self {
            Self::U8 | Self::I8 | Self::Bool => 1,
            Self::U16 | Self::I16 => 2,
            Self::U32 | Self::I32 | Self::F32 => 4,
            Self::U64 | Self::I64 | Self::F64 | Self::String => 8,
            Self::Array => 12,
        }
    }
}

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    String(String),
    /// An array with its element type (kept so an empty array round-trips).
    Array(ValueType, Vec<Value>),
    U64(u64),
    I64(i64),
    F64(f64),
}

impl Value {
    /// The value's type tag.
    pub fn value_type(&self) -> ValueType {
        match self {
            Self::U8(_) => ValueType::U8,
            Self::I8(_) => ValueType::I8,
            Self::U16(_) => ValueType::U16,
            Self::I16(_) => ValueType::I16,
            Self::U32(_) => ValueType::U32,
            Self::I32(_) => ValueType::I32,
            Self::F32(_) => ValueType::F32,
            Self::Bool(_) => ValueType::Bool,
            Self::String(_) => ValueType::String,
            Self::Array(..) => ValueType::Array,
            Self::U64(_) => ValueType::U64,
            Self::I64(_) => ValueType::I64,
            Self::F64(_) => ValueType::F64,
        }
    }

    /// The value as a non-negative integer, whatever its integer width.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Self::U8(v) => Some(v.into()),
            Self::U16(v) => Some(v.into()),
            Self::U32(v) => Some(v.into()),
            Self::U64(v) => Some(v),
            Self::I8(v) => u64::try_from(v).ok(),
            Self::I16(v) => u64::try_from(v).ok(),
            Self::I32(v) => u64::try_from(v).ok(),
            Self::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a float (floats and integers).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Self::F32(v) => Some(v.into()),
            Self::F64(v) => Some(v),
            _ => self.as_u64().map(|v| v as f64),
        }
    }

    /// The value as a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Self::Array(_, items) => Some(items),
            _ => None,
        }
    }

    /// A short description for error messages (`u32 8`, `array of 49152 string`).
    pub fn describe(&self) -> String {
        match self {
            Self::Array(t, items) => format!("array of {} {:?}", items.len(), t),
            Self::String(s) if s.len() > 40 => format!("string of {} bytes", s.len()),
            other => format!("{other:?}"),
        }
    }

    /// Writes the value (without its type tag) in GGUF encoding.
    pub fn write_to<W: io::Write>(&self, w: &mut W) -> io::Result<()> {
        match self {
            Self::U8(v) => w.write_all(&[*v]),
            Self::I8(v) => w.write_all(&v.to_le_bytes()),
            Self::U16(v) => w.write_all(&v.to_le_bytes()),
            Self::I16(v) => w.write_all(&v.to_le_bytes()),
            Self::U32(v) => w.write_all(&v.to_le_bytes()),
            Self::I32(v) => w.write_all(&v.to_le_bytes()),
            Self::F32(v) => w.write_all(&v.to_le_bytes()),
            Self::Bool(v) => w.write_all(&[u8::from(*v)]),
            Self::String(s) => write_string(w, s),
            Self::Array(t, items) => {
                w.write_all(&t.id().to_le_bytes())?;
                w.write_all(&(items.len() as u64).to_le_bytes())?;
                items.iter().try_for_each(|item| item.write_to(w))
            }
            Self::U64(v) => w.write_all(&v.to_le_bytes()),
            Self::I64(v) => w.write_all(&v.to_le_bytes()),
            Self::F64(v) => w.write_all(&v.to_le_bytes()),
        }
    }
}

/// Writes a GGUF string (u64 length, then bytes).
pub fn write_string<W: io::Write>(w: &mut W, s: &str) -> io::Result<()> {
    w.write_all(&(s.len() as u64).to_le_bytes())?;
    w.write_all(s.as_bytes())
}

/// One entry of the tensor table.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    /// Tensor name (`blk.0.attn_q.weight`).
    pub name: String,
    /// Dimensions in ggml order: `dims[0]` is the row length (`ne[0]`).
    pub dims: Vec<u64>,
    /// Element type.
    pub ggml_type: GgmlType,
    /// Offset of the data, relative to [`GgufHeader::data_offset`].
    pub offset: u64,
}

impl TensorInfo {
    /// Number of elements.
    pub fn n_elements(&self) -> u64 {
        // Validated not to overflow when the header was parsed.
        self.dims.iter().product()
    }

    /// Bytes of tensor data.
    pub fn byte_size(&self) -> u64 {
        // Validated (whole blocks, no overflow) when the header was parsed.
        self.ggml_type.bytes_for(self.n_elements()).unwrap_or(0)
    }
}

/// Ordered metadata with lookup by key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    entries: Vec<(String, Value)>,
    index: HashMap<String, usize>,
}

impl Metadata {
    /// Entries in file order.
    pub fn entries(&self) -> &[(String, Value)] {
        &self.entries
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.index.get(key).map(|&i| &self.entries[i].1)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sets `key` to `value`, replacing an existing entry in place or appending.
    pub fn set(&mut self, key: &str, value: Value) {
        match self.index.get(key) {
            Some(&i) => self.entries[i].1 = value,
            None => {
                self.index.insert(key.to_owned(), self.entries.len());
                self.entries.push((key.to_owned(), value));
            }
        }
    }

    /// Removes `key` if present.
    pub fn remove(&mut self, key: &str) {
        if let Some(i) = self.index.remove(key) {
            self.entries.remove(i);
            for slot in self.index.values_mut() {
                if *slot > i {
                    *slot -= 1;
                }
            }
        }
    }
}

/// The parsed header of a GGUF file: everything before the tensor data.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufHeader {
    /// GGUF version (2 or 3).
    pub version: u32,
    /// Metadata key/values.
    pub metadata: Metadata,
    /// The tensor table, in file order.
    pub tensors: Vec<TensorInfo>,
    /// Tensor data alignment (`general.alignment`, default 32).
    pub alignment: u64,
    /// Absolute offset where tensor data starts.
    pub data_offset: u64,
    /// Length of the input the header was read from.
    pub file_len: u64,
}

impl GgufHeader {
    /// Reads the header of the file at `path`. Works on a truncated file as long as the header
    /// itself is complete; does not read tensor data.
    pub fn read(path: &Path) -> Result<Self> {
        let io_err = |source| GgufError::Io {
            path: path.to_owned(),
            source,
        };
        let file = File::open(path).map_err(io_err)?;
        let file_len = file.metadata().map_err(io_err)?.len();
        let reader = BufReader::with_capacity(1 << 16, file);
        Self::parse(reader, file_len).map_err(|e| match e {
            GgufError::Io { source, .. } => io_err(source),
            other => other,
        })
    }

    /// Parses a header from bytes (a whole file or just its beginning).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::parse(bytes, bytes.len() as u64)
    }

    /// Parses a header from `reader`, which holds `input_len` bytes in all.
    pub fn parse<R: Read>(reader: R, input_len: u64) -> Result<Self> {
        let mut r = Cursor {
            inner: reader,
            pos: 0,
            len: input_len,
        };
        let magic: [u8; 4] = r.array("the magic \"GGUF\"")?;
        if magic != GGUF_MAGIC {
            return Err(GgufError::BadMagic { found: magic });
        }
        let version = r.u32("the GGUF version")?;
        if !(2..=3).contains(&version) {
            return Err(GgufError::UnsupportedVersion { version });
        }
        let tensor_count_at = r.pos;
        let tensor_count = r.u64("the tensor count")?;
        let kv_count_at = r.pos;
        let kv_count = r.u64("the metadata key/value count")?;
        // Each key/value needs at least 8 (key length) + 4 (type) + 1 bytes; each tensor info at
        // least 8 (name length) + 4 (n_dims) + 4 (type) + 8 (offset).
        r.bound_count(kv_count, 13, kv_count_at, "metadata key/value count")?;
        r.bound_count(tensor_count, 24, tensor_count_at, "tensor count")?;

        let mut metadata = Metadata::default();
        for _ in 0..kv_count {
            let key_at = r.pos;
            let key = r.string("a metadata key")?;
            let type_at = r.pos;
            let type_id = r.u32("a metadata value type")?;
            let value_type = ValueType::from_id(type_id).ok_or_else(|| GgufError::Corrupt {
                offset: type_at,
                what: format!(
                    "metadata value type {type_id} for key `{key}`, expected a type id 0..=12"
                ),
            })?;
            let value = r.value(value_type, 0)?;
            if metadata.get(&key).is_some() {
                return Err(GgufError::Corrupt {
                    offset: key_at,
                    what: format!("duplicate metadata key `{key}`"),
                });
            }
            metadata.set(&key, value);
        }

        let alignment = match metadata.get("general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some(v) => match v.as_u64() {
                Some(a) if a.is_power_of_two() => a,
                _ => {
                    return Err(GgufError::Corrupt {
                        offset: r.pos,
                        what: format!(
                            "general.alignment is {}, expected a power of two",
                            v.describe()
                        ),
                    });
                }
            },
        };

        let mut tensors = Vec::with_capacity(tensor_count as usize);
        let mut names = HashSet::with_capacity(tensor_count as usize);
        for _ in 0..tensor_count {
            let info_at = r.pos;
            let name = r.string("a tensor name")?;
            let dims_at = r.pos;
            let n_dims = r.u32("the tensor's dimension count")?;
            if n_dims == 0 || n_dims > MAX_DIMS {
                return Err(GgufError::Corrupt {
                    offset: dims_at,
                    what: format!(
                        "tensor `{name}` has {n_dims} dimensions, expected 1..={MAX_DIMS}"
                    ),
                });
            }
            let mut dims = Vec::with_capacity(n_dims as usize);
            for _ in 0..n_dims {
                dims.push(r.u64("a tensor dimension")?);
            }
            let type_at = r.pos;
            let type_id = r.u32("the tensor's ggml type")?;
            let ggml_type = GgmlType::from_id(type_id).ok_or_else(|| GgufError::Corrupt {
                offset: type_at,
                what: format!("tensor `{name}` has unknown ggml type id {type_id}"),
            })?;
            let offset_at = r.pos;
            let offset = r.u64("the tensor's data offset")?;
            let n_elements = dims
                .iter()
                .try_fold(1u64, |acc, &d| acc.checked_mul(d))
                .ok_or_else(|| GgufError::Corrupt {
                    offset: dims_at,
                    what: format!("tensor `{name}` dimensions {dims:?} overflow a 64-bit count"),
                })?;
            if !dims[0].is_multiple_of(ggml_type.block_size()) {
                return Err(GgufError::Corrupt {
                    offset: dims_at,
                    what: format!(
                        "tensor `{name}` has rows of {} elements, expected a multiple of the \
                         {ggml_type} block size {}",
                        dims[0],
                        ggml_type.block_size()
                    ),
                });
            }
            let size = ggml_type.bytes_for(n_elements);
            let end = size.and_then(|s| offset.checked_add(s));
            if end.is_none() {
                return Err(GgufError::Corrupt {
                    offset: dims_at,
                    what: format!("tensor `{name}` size overflows a 64-bit offset"),
                });
            }
            if !offset.is_multiple_of(alignment) {
                return Err(GgufError::Corrupt {
                    offset: offset_at,
                    what: format!(
                        "tensor `{name}` data offset {offset} is not a multiple of the alignment \
                         {alignment}"
                    ),
                });
            }
            if !names.insert(name.clone()) {
                return Err(GgufError::Corrupt {
                    offset: info_at,
                    what: format!("duplicate tensor name `{name}`"),
                });
            }
            tensors.push(TensorInfo {
                name,
                dims,
                ggml_type,
                offset,
            });
        }
        let data_offset = r.pos.div_ceil(alignment) * alignment;
        Ok(Self {
            version,
            metadata,
            tensors,
            alignment,
            data_offset,
            file_len: input_len,
        })
    }

    /// Bytes of tensor data the table describes (end of the last tensor, relative to
    /// [`Self::data_offset`]).
    pub fn tensor_data_len(&self) -> u64 {
        self.tensors
            .iter()
            .map(|t| t.offset + t.byte_size())
            .max()
            .unwrap_or(0)
    }

    /// Sum of the tensors' bytes: the exact size of the weights.
    pub fn weights_bytes(&self) -> u64 {
        self.tensors
            .iter()
            .map(TensorInfo::byte_size)
            .fold(0, u64::saturating_add)
    }

    /// Total number of weights (parameters).
    pub fn parameter_count(&self) -> u64 {
        self.tensors
            .iter()
            .map(TensorInfo::n_elements)
            .fold(0, u64::saturating_add)
    }

    /// Checks that the input holds all the tensor data; a clear "truncated" error otherwise.
    pub fn check_complete(&self) -> Result<()> {
        let expected = self.tensor_data_len();
        let available = self.file_len.saturating_sub(self.data_offset);
        if available < expected {
            return Err(GgufError::Truncated {
                expected,
                available,
                data_offset: self.data_offset,
            });
        }
        Ok(())
    }

    /// The tensor called `name`.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// `general.architecture`.
    pub fn architecture(&self) -> Result<&str> {
        self.str_value("general.architecture")
    }

    /// Errors unless mistralrs 0.8.1's GGUF loader accepts this file's architecture.
    pub fn check_supported(&self) -> Result<()> {
        let architecture = self.architecture()?;
        if is_supported_architecture(architecture) {
            Ok(())
        } else {
            Err(GgufError::UnsupportedArchitecture {
                architecture: architecture.to_owned(),
            })
        }
    }

    /// A string value.
    pub fn str_value(&self, key: &str) -> Result<&str> {
        let value = self.required(key)?;
        value
            .as_str()
            .ok_or_else(|| wrong_type(key, value, "a string"))
    }

    /// A non-negative integer value of any width.
    pub fn u64_value(&self, key: &str) -> Result<u64> {
        let value = self.required(key)?;
        value
            .as_u64()
            .ok_or_else(|| wrong_type(key, value, "a non-negative integer"))
    }

    /// An integer value if present.
    pub fn opt_u64(&self, key: &str) -> Result<Option<u64>> {
        match self.metadata.get(key) {
            None => Ok(None),
            Some(_) => self.u64_value(key).map(Some),
        }
    }

    /// An architecture-scoped integer (`{arch}.{suffix}`).
    pub fn arch_u64(&self, suffix: &str) -> Result<u64> {
        self.u64_value(&format!("{}.{suffix}", self.architecture()?))
    }

    /// An optional architecture-scoped integer.
    pub fn arch_opt_u64(&self, suffix: &str) -> Result<Option<u64>> {
        self.opt_u64(&format!("{}.{suffix}", self.architecture()?))
    }

    /// Per-layer values of an architecture key that is either one integer for all layers or an
    /// array with one integer per layer (e.g. `head_count_kv` in hybrid models).
    pub fn arch_per_layer(&self, suffix: &str, layers: u64) -> Result<Vec<u64>> {
        let key = format!("{}.{suffix}", self.architecture()?);
        let value = self.required(&key)?;
        if let Some(v) = value.as_u64() {
            return Ok(vec![v; layers as usize]);
        }
        let items = value
            .as_array()
            .ok_or_else(|| wrong_type(&key, value, "an integer or an array of integers"))?;
        if items.len() as u64 != layers {
            return Err(wrong_type(&key, value, "one integer per layer"));
        }
        items
            .iter()
            .map(|v| {
                v.as_u64()
                    .ok_or_else(|| wrong_type(&key, value, "an array of integers"))
            })
            .collect()
    }

    /// The architecture parameters the budget and the engine need.
    pub fn model_params(&self) -> Result<ModelParams> {
        let architecture = self.architecture()?.to_owned();
        let block_count = self.arch_u64("block_count")?;
        if block_count == 0 || block_count > 4096 {
            return Err(GgufError::WrongType {
                key: format!("{architecture}.block_count"),
                found: block_count.to_string(),
                expected: "a layer count in 1..=4096",
            });
        }
        let embedding_length = self.arch_u64("embedding_length")?;
        let head_count = self.arch_per_layer("attention.head_count", block_count)?;
        let head_count_kv = match self.arch_opt_u64("attention.head_count_kv") {
            Ok(None) => head_count.clone(),
            _ => self.arch_per_layer("attention.head_count_kv", block_count)?,
        };
        let max_heads = head_count.iter().copied().max().unwrap_or(0);
        let default_head_dim = embedding_length.checked_div(max_heads).unwrap_or(0);
        let key_length = self
            .arch_opt_u64("attention.key_length")?
            .unwrap_or(default_head_dim);
        let value_length = self
            .arch_opt_u64("attention.value_length")?
            .unwrap_or(default_head_dim);
        let sliding_window = self.arch_opt_u64("attention.sliding_window")?;
        let sliding_window_pattern = match self.arch_opt_u64("attention.sliding_window_pattern") {
            Ok(Some(p)) => Some(p),
            // llama.cpp hard-codes Gemma 3's pattern (5 local layers, then 1 global):
            // `hparams.set_swa_pattern(6)` in llama-model.cpp for LLM_ARCH_GEMMA3.
            _ if sliding_window.is_some() && architecture == "gemma3" => Some(6),
            _ => None,
        };
        let vocab_size = match self.arch_opt_u64("vocab_size")? {
            Some(v) => v,
            None => self
                .metadata
                .get("tokenizer.ggml.tokens")
                .and_then(Value::as_array)
                .map(|a| a.len() as u64)
                .unwrap_or(0),
        };
        let plausible = |what: &str, v: u64, max: u64| {
            if v <= max {
                Ok(())
            } else {
                Err(GgufError::WrongType {
                    key: format!("{architecture}.{what}"),
                    found: v.to_string(),
                    expected: "a plausible model dimension (the header looks corrupt)",
                })
            }
        };
        plausible("embedding_length", embedding_length, MAX_MODEL_DIM)?;
        plausible("attention.head_count", max_heads, MAX_MODEL_DIM)?;
        let max_kv = head_count_kv.iter().copied().max().unwrap_or(0);
        plausible("attention.head_count_kv", max_kv, MAX_MODEL_DIM)?;
        plausible("attention.key_length", key_length, MAX_MODEL_DIM)?;
        plausible("attention.value_length", value_length, MAX_MODEL_DIM)?;
        plausible("vocab_size", vocab_size, MAX_MODEL_DIM)?;
        let feed_forward_length = self.arch_opt_u64("feed_forward_length").ok().flatten();
        plausible(
            "feed_forward_length",
            feed_forward_length.unwrap_or(0),
            MAX_MODEL_DIM,
        )?;
        let context_length = self.arch_opt_u64("context_length")?;
        plausible("context_length", context_length.unwrap_or(0), MAX_MODEL_DIM)?;
        Ok(ModelParams {
            block_count,
            embedding_length,
            feed_forward_length,
            head_count,
            head_count_kv,
            key_length,
            value_length,
            sliding_window,
            sliding_window_pattern,
            context_length,
            vocab_size,
            tokenizer_model: self
                .metadata
                .get("tokenizer.ggml.model")
                .and_then(Value::as_str)
                .map(str::to_owned),
            bos_token_id: self.opt_u64("tokenizer.ggml.bos_token_id").ok().flatten(),
            eos_token_id: self.opt_u64("tokenizer.ggml.eos_token_id").ok().flatten(),
            has_chat_template: self
                .metadata
                .get("tokenizer.chat_template")
                .and_then(Value::as_str)
                .is_some_and(|t| !t.trim().is_empty()),
            file_type: self.opt_u64("general.file_type").ok().flatten(),
            architecture,
        })
    }

    fn required(&self, key: &str) -> Result<&Value> {
        self.metadata.get(key).ok_or_else(|| GgufError::MissingKey {
            key: key.to_owned(),
        })
    }
}

/// Whether mistralrs 0.8.1's GGUF loader accepts `architecture` (case-insensitive, as it is).
pub fn is_supported_architecture(architecture: &str) -> bool {
    let lower = architecture.to_ascii_lowercase();
    MISTRALRS_GGUF_ARCHITECTURES.contains(&lower.as_str())
}

fn wrong_type(key: &str, value: &Value, expected: &'static str) -> GgufError {
    GgufError::WrongType {
        key: key.to_owned(),
        found: value.describe(),
        expected,
    }
}

/// Architecture parameters read from GGUF metadata.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ModelParams {
    /// `general.architecture`.
    pub architecture: String,
    /// `{arch}.block_count`: transformer layers.
    pub block_count: u64,
    /// `{arch}.embedding_length`: hidden size.
    pub embedding_length: u64,
    /// `{arch}.feed_forward_length`.
    pub feed_forward_length: Option<u64>,
    /// `{arch}.attention.head_count`, per layer.
    pub head_count: Vec<u64>,
    /// `{arch}.attention.head_count_kv`, per layer (GQA); equals `head_count` when absent.
    pub head_count_kv: Vec<u64>,
    /// `{arch}.attention.key_length`, default `embedding_length / head_count`.
    pub key_length: u64,
    /// `{arch}.attention.value_length`, default `embedding_length / head_count`.
    pub value_length: u64,
    /// `{arch}.attention.sliding_window`: the window of the local-attention layers.
    pub sliding_window: Option<u64>,
    /// Every `n`-th layer is a full-attention layer, the others use the sliding window.
    pub sliding_window_pattern: Option<u64>,
    /// `{arch}.context_length`: the trained context.
    pub context_length: Option<u64>,
    /// Vocabulary size (`{arch}.vocab_size` or the length of `tokenizer.ggml.tokens`).
    pub vocab_size: u64,
    /// `tokenizer.ggml.model` (`gpt2` = BPE, `llama` = SentencePiece).
    pub tokenizer_model: Option<String>,
    /// `tokenizer.ggml.bos_token_id`.
    pub bos_token_id: Option<u64>,
    /// `tokenizer.ggml.eos_token_id`.
    pub eos_token_id: Option<u64>,
    /// Whether `tokenizer.chat_template` is present and non-empty.
    pub has_chat_template: bool,
    /// `general.file_type` (llama_ftype: 15 = Q4_K_M).
    pub file_type: Option<u64>,
}

impl ModelParams {
    /// Whether layer `layer` (0-based) uses sliding-window attention. With a pattern `n`, layers
    /// `n-1, 2n-1, …` are global (llama.cpp `is_swa_impl`: `il % n < n - 1`).
    pub fn is_sliding_layer(&self, layer: u64) -> bool {
        match (self.sliding_window, self.sliding_window_pattern) {
            (Some(_), Some(n)) if n > 0 => layer % n < n - 1,
            _ => false,
        }
    }
}

/// A GGUF file whose header was read and whose tensor data is complete.
#[derive(Debug, Clone)]
pub struct GgufFile {
    /// Where the file is.
    pub path: PathBuf,
    /// Its header.
    pub header: GgufHeader,
}

impl GgufFile {
    /// Reads the header and checks that the file holds all its tensor data.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let header = GgufHeader::read(path)?;
        header.check_complete()?;
        Ok(Self {
            path: path.to_owned(),
            header,
        })
    }
}

/// A position-tracking reader that checks every read against the input length.
struct Cursor<R> {
    inner: R,
    pos: u64,
    len: u64,
}

impl<R: Read> Cursor<R> {
    fn remaining(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    fn need(&self, n: u64, expected: &str) -> Result<()> {
        if self.remaining() < n {
            return Err(GgufError::UnexpectedEof {
                offset: self.pos,
                expected: expected.to_owned(),
                needed: n,
                file_len: self.len,
            });
        }
        Ok(())
    }

    /// Rejects a count whose items, at `min_item` bytes each, cannot fit in what is left.
    fn bound_count(&self, count: u64, min_item: u64, at: u64, what: &str) -> Result<()> {
        let needed = count.checked_mul(min_item);
        if needed.is_none_or(|n| n > self.remaining()) {
            return Err(GgufError::Corrupt {
                offset: at,
                what: format!(
                    "{what} {count} is absurd: {count} items of at least {min_item} bytes cannot \
                     fit in the {} bytes left",
                    self.remaining()
                ),
            });
        }
        Ok(())
    }

    fn fill(&mut self, buf: &mut [u8], expected: &str) -> Result<()> {
        self.need(buf.len() as u64, expected)?;
        let at = self.pos;
        self.inner.read_exact(buf).map_err(|source| {
            if source.kind() == io::ErrorKind::UnexpectedEof {
                GgufError::UnexpectedEof {
                    offset: at,
                    expected: expected.to_owned(),
                    needed: buf.len() as u64,
                    file_len: self.len,
                }
            } else {
                GgufError::Io {
                    path: PathBuf::new(),
                    source,
                }
            }
        })?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    fn array<const N: usize>(&mut self, expected: &str) -> Result<[u8; N]> {
        let mut buf = [0u8; N];
        self.fill(&mut buf, expected)?;
        Ok(buf)
    }

    fn u32(&mut self, expected: &str) -> Result<u32> {
        self.array(expected).map(u32::from_le_bytes)
    }

    fn u64(&mut self, expected: &str) -> Result<u64> {
        self.array(expected).map(u64::from_le_bytes)
    }

    fn string(&mut self, expected: &str) -> Result<String> {
        let at = self.pos;
        let len = self.u64(expected)?;
        if len > self.remaining() {
            return Err(GgufError::Corrupt {
                offset: at,
                what: format!(
                    "{expected}: string length {len} exceeds the {} bytes left in the file",
                    self.remaining()
                ),
            });
        }
        let mut bytes = vec![0u8; len as usize];
        self.fill(&mut bytes, expected)?;
        String::from_utf8(bytes).map_err(|e| GgufError::Corrupt {
            offset: at + 8,
            what: format!("{expected} is not valid UTF-8: {e}"),
        })
    }

    fn value(&mut self, value_type: ValueType, depth: usize) -> Result<Value> {
        Ok(match value_type {
            ValueType::U8 => Value::U8(self.array::<1>("a u8 value")?[0]),
            ValueType::I8 => Value::I8(i8::from_le_bytes(self.array("an i8 value")?)),
            ValueType::U16 => Value::U16(u16::from_le_bytes(self.array("a u16 value")?)),
            ValueType::I16 => Value::I16(i16::from_le_bytes(self.array("an i16 value")?)),
            ValueType::U32 => Value::U32(self.u32("a u32 value")?),
            ValueType::I32 => Value::I32(i32::from_le_bytes(self.array("an i32 value")?)),
            ValueType::F32 => Value::F32(f32::from_le_bytes(self.array("an f32 value")?)),
            ValueType::U64 => Value::U64(self.u64("a u64 value")?),
            ValueType::I64 => Value::I64(i64::from_le_bytes(self.array("an i64 value")?)),
            ValueType::F64 => Value::F64(f64::from_le_bytes(self.array("an f64 value")?)),
            ValueType::Bool => {
                let at = self.pos;
                match self.array::<1>("a bool value")?[0] {
                    0 => Value::Bool(false),
                    1 => Value::Bool(true),
                    b => {
                        return Err(GgufError::Corrupt {
                            offset: at,
                            what: format!("bool value {b}, expected 0 or 1"),
                        });
                    }
                }
            }
            ValueType::String => Value::String(self.string("a string value")?),
            ValueType::Array => {
                let type_at = self.pos;
                if depth >= MAX_ARRAY_DEPTH {
                    return Err(GgufError::Corrupt {
                        offset: type_at,
                        what: format!("arrays nested deeper than {MAX_ARRAY_DEPTH} levels"),
                    });
                }
                let type_id = self.u32("an array element type")?;
                let item_type = ValueType::from_id(type_id).ok_or_else(|| GgufError::Corrupt {
                    offset: type_at,
                    what: format!("array element type {type_id}, expected a type id 0..=12"),
                })?;
                let count_at = self.pos;
                let count = self.u64("an array length")?;
                self.bound_count(
                    count,
                    item_type.min_encoded_size(),
                    count_at,
                    "array length",
                )?;
                let mut items = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    items.push(self.value(item_type, depth + 1)?);
                }
                Value::Array(item_type, items)
            }
        })
    }
}
