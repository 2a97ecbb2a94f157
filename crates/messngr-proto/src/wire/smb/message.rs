//! TODO(placeholder): being written.
