//! Process Monitor PML captures: reader, detail decoding, Procmon's text rules, writer.

pub mod bytes;
pub mod detail;
pub mod excerpt;
pub mod reader;
pub mod resolve;
pub mod row;
pub mod text;
pub mod writer;

pub use reader::{
    Header, Module, Pml, PmlError, Process, QueryDirectoryStyle, RawEvent, TextStyle,
};
