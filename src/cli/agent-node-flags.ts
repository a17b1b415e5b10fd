// The V8 flags every agent runs with, however it is started (autostart, `aadbt agent`, systemd units).

/**
 * V8 sizes its heap to the machine's RAM (GiBs on a CI runner), so a busy agent's RSS grows far past its
 * ~30 MiB live heap before collecting. Small young generations and a capped old one keep it near the live
 * size; 128 MiB old space leaves 4× headroom, since hitting the cap kills the agent.
 */
export const AGENT_NODE_FLAGS = ['--max-semi-space-size=4', '--max-old-space-size=128'];
