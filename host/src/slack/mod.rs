//! Slack: Block Kit checks and command routing. (The HTTP receiver, Socket
//! Mode and Web API delivery build on these.)

pub mod blocks;
pub mod router;
