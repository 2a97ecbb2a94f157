//! Decode and encode speed of every wire format, one module per area:
//! `cargo bench -p messngr-proto --bench wire`.
//!
//! Inputs are the captured vectors (or frames built like them), so the
//! figures describe real traffic.

mod datagram;
mod dcerpc;
mod name;
mod native;
mod nbns;
mod session;
mod text;

fn main() {
    divan::main();
}
