fn main() {
    std::process::exit(slimfile::cli::main());
}
