// Rust's std::sync under 200 threads: Mutex, Condvar, Barrier, RwLock, mpsc and thread::park, all
// of which std builds on futex(2) directly. Rust gives every thread a small sigaltstack of its own
// (for its stack-overflow handler), so the agent's SIGSYS frames land there. Under the old agent
// about 3% of runs crashed at thread exit (the parking lot's thread registry).
use std::sync::{mpsc, Arc, Barrier, Condvar, Mutex, RwLock};
use std::thread;

fn main() {
    const THREADS: usize = 200;
    let counter = Arc::new(Mutex::new(0u64));
    let table = Arc::new(RwLock::new(vec![0u64; 16]));
    let barrier = Arc::new(Barrier::new(THREADS));
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let (tx, rx) = mpsc::channel();
    let mut handles = Vec::new();
    for id in 0..THREADS {
        let (counter, table, barrier, gate, tx) =
            (counter.clone(), table.clone(), barrier.clone(), gate.clone(), tx.clone());
        handles.push(thread::spawn(move || {
            {
                let (lock, cv) = &*gate;
                let mut open = lock.lock().unwrap();
                while !*open {
                    open = cv.wait(open).unwrap();
                }
            }
            for i in 0..200u64 {
                *counter.lock().unwrap() += 1;
                if i % 10 == 0 {
                    table.write().unwrap()[id % 16] += 1;
                } else {
                    let _sum: u64 = table.read().unwrap().iter().sum();
                }
            }
            barrier.wait();
            tx.send(id as u64).unwrap();
            thread::park_timeout(std::time::Duration::from_millis(1));
        }));
    }
    drop(tx);
    {
        let (lock, cv) = &*gate;
        *lock.lock().unwrap() = true;
        cv.notify_all();
    }
    let ids: u64 = rx.iter().sum();
    for h in &handles {
        h.thread().unpark();
    }
    for h in handles {
        h.join().unwrap();
    }
    let writes: u64 = table.read().unwrap().iter().sum();
    println!("counter {}, table writes {}, ids {}", *counter.lock().unwrap(), writes, ids);
}
