// pm2 ecosystem file for a BitAgent validator:  pm2 start scripts/ecosystem.validator.config.js
// Every setting comes from the environment:
//   NAME=validator WALLET_NAME=cold WALLET_HOTKEY=vali PROFILE=mainnet \
//     LLM_BASE_URL=http://127.0.0.1:8000/v1 pm2 start scripts/ecosystem.validator.config.js
// Optional: NETWORK, CHAIN_ENDPOINT, NETUID, SAMPLE_SIZE, STEP_SECONDS, WANDB=1 (log online to your own
// private wandb project), NO_OFFLINE=1, BITAGENT_BIN (path to the bitagent executable).
// The validator keeps its state in SQLite: pm2 restarts resume where it stopped, nothing counted twice.
const env = process.env;

const args = ["validate", "--profile", env.PROFILE || "testnet",
  "--wallet-name", env.WALLET_NAME || "default", "--wallet-hotkey", env.WALLET_HOTKEY || "default"];
const optional = {
  "--network": env.NETWORK, "--chain-endpoint": env.CHAIN_ENDPOINT, "--netuid": env.NETUID,
  "--llm-base-url": env.LLM_BASE_URL, "--sample-size": env.SAMPLE_SIZE, "--step-seconds": env.STEP_SECONDS,
};
for (const [flag, value] of Object.entries(optional)) {
  if (value) args.push(flag, value);
}
if (env.WANDB === "1") args.push("--wandb");
if (env.NO_OFFLINE === "1") args.push("--no-offline");

module.exports = {
  apps: [{
    name: env.NAME || "bitagent-validator",
    script: env.BITAGENT_BIN || "bitagent",
    interpreter: "none",
    args,
    autorestart: true,
    min_uptime: "60s",
    max_restarts: 10,
    restart_delay: 10000,
    kill_timeout: 60000,  // SIGTERM: the step in progress finishes and an offline evaluation is stopped cleanly
    merge_logs: true,
    time: true,
  }],
};
