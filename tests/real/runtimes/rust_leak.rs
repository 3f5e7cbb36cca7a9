// SPDX-License-Identifier: MIT
// A Rust program on the system allocator (Rust's default): a Box::leak, a
// mem::forget, a File never closed, a panic unwound and caught, a thread.
// With the argument "clean" it drops everything and reports nothing.
// expect-exit: 4
use std::fs::File;
use std::io::Read;

#[inline(never)]
fn leak_box() -> &'static mut [u8] {
    Box::leak(vec![7u8; 40].into_boxed_slice()) // expect-leak: fn=leak_box blocks=1 bytes=40
}

#[inline(never)]
fn forgotten() -> String {
    String::from("forgotten on purpose, 33 bytes!!!") // expect-leak: fn=forgotten blocks=1 bytes=33
}

#[inline(never)]
fn open_file() -> File {
    File::open("/etc/passwd").unwrap() // expect-fd: /etc/passwd
}

fn may_panic(n: usize) -> usize {
    let numbers: Vec<usize> = (0..n).collect();
    if n == 5 {
        panic!("five is not allowed");
    }
    numbers.iter().sum()
}

// Everything happens here, the arguments read too, so that no word of
// its frame is left live when main exits: a stale pointer to the freed
// argument in main's frame would point at whatever malloc put there next.
#[inline(never)]
fn run() -> i32 {
    let clean = std::env::args().nth(1).as_deref() == Some("clean");
    let leaked = leak_box();
    let kept = forgotten();
    let mut file = open_file();
    let mut first = [0u8; 1];
    file.read_exact(&mut first).unwrap();
    let caught = std::panic::catch_unwind(|| may_panic(5)).is_err();
    let worker = std::thread::spawn(|| (1..=100).map(|n| may_panic(n % 5 + 6)).sum::<usize>());
    println!("{} {} {} {}", leaked[0], kept.len(), caught, worker.join().unwrap());
    if clean {
        // the leaked box back into a Box, then everything dropped
        drop(unsafe { Box::from_raw(leaked as *mut [u8]) });
        drop(kept);
        drop(file);
    } else {
        std::mem::forget(kept);
        std::mem::forget(file);
    }
    4
}

fn main() {
    std::process::exit(run());
}
