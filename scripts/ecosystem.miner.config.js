// pm2 ecosystem file for a BitAgent miner:  pm2 start scripts/ecosystem.miner.config.js
// Every setting comes from the environment, so one file serves many miners:
//   NAME=miner1 WALLET_NAME=cold WALLET_HOTKEY=hk1 PORT=8091 MODEL=org/model \
//     PROFILE=mainnet pm2 start scripts/ecosystem.miner.config.js
// Optional: OPENAI_API_BASE (attach to your own vLLM instead of starting one), SUBMIT_MODEL
// (commit org/name[@rev] for offline evaluation), NETWORK, CHAIN_ENDPOINT, NETUID, MIN_VALIDATOR_STAKE,
// BITAGENT_BIN (path to the bitagent executable, e.g. /path/to/.venv/bin/bitagent).
const env = process.env;

const args = ["mine", "--profile", env.PROFILE || "testnet",
  "--wallet-name", env.WALLET_NAME || "default", "--wallet-hotkey", env.WALLET_HOTKEY || "default",
  "--port", env.PORT || "8091"];
const optional = {
  "--network": env.NETWORK, "--chain-endpoint": env.CHAIN_ENDPOINT, "--netuid": env.NETUID,
  "--hf-model-name-to-run": env.OPENAI_API_BASE ? "" : env.MODEL, "--openai-api-base": env.OPENAI_API_BASE,
  "--miner-hf-model-name-to-submit": env.SUBMIT_MODEL, "--min-validator-stake": env.MIN_VALIDATOR_STAKE,
};
for (const [flag, value] of Object.entries(optional)) {
  if (value) args.push(flag, value);
}

module.exports = {
  apps: [{
    name: env.NAME || "bitagent-miner",
    script: env.BITAGENT_BIN || "bitagent",
    interpreter: "none",
    args,
    autorestart: true,
    min_uptime: "60s",
    max_restarts: 10,
    restart_delay: 10000,
    kill_timeout: 30000,  // SIGTERM first: the miner stops its model server before it exits
    merge_logs: true,
    time: true,
  }],
};
