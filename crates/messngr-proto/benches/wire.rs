//! Decode and encode speed of every wire format: `cargo bench -p messngr-proto`.
fn main() {
    divan::main();
}
