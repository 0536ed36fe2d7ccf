//! The `meshform` command.

fn main() {
    std::process::exit(meshform::cli::run());
}
