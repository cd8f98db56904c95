//! Whole-engine tests: they open databases through the public handles (over the fault-injecting
//! storage where a crash is simulated) and reach into the engine's state where a check needs to.
//! They sit above every layer, so that no engine module imports the API.

mod corruption;
mod crash;
mod file_safety;
mod index;
mod integrity;
mod lazy_open;
mod model_crash;
mod open_close;
mod power_loss;
mod watch;
