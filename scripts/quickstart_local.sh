#!/usr/bin/env bash
# Local quick-start for BitAgent: create wallets, fund them, (create the subnet,) register, and launch
# validators and miners -- the seed's scripts/setup_and_run.sh, on top of the `bitagent` CLI.
#
#   scripts/quickstart_local.sh                    # local chain: 1 validator + 2 miners, everything
#   scripts/quickstart_local.sh --only-launch      # just start the already registered neurons
#   scripts/quickstart_local.sh --stop             # stop what --launch started (by saved pid)
#   scripts/quickstart_local.sh --dry-run ...      # print every command instead of running it
#
# Run `scripts/quickstart_local.sh --help` for every flag. Logs and pid files go to $RUN_DIR
# (default .bitagent/quickstart). Nothing here spends real TAO unless you pass --main-net AND --max-burn.
set -euo pipefail

usage() {
  cat <<'EOF'
Creates wallets for the subnet (owner, validators, miners), funds them, registers them, then starts them.

usage: scripts/quickstart_local.sh [--num_validators N] [--num_miners N] [--subnet_prefix NAME] [flags]

  --num_validators num     number of validators to launch                      (default: 1)
  --num_miners     num     number of miners to launch                          (default: 2)
  --subnet_prefix  string  prefix of the wallet names       (default: local_subnet_testing_bitagent)
  --skip-wallet            skip wallet creation                    (default: create missing wallets)
  --skip-faucet            skip funding from the local dev account          (default: fund, local only)
  --skip-subnet            skip subnet creation                  (default: create it when it is missing)
  --skip-reg               skip all registration                            (default: register all)
  --skip-val-reg           skip validator registration
  --skip-miner-reg         skip miner registration
  --skip-launch            skip launching validators and miners             (default: launch all)
  --skip-launch_v          skip launching validators
  --only-launch            skip everything but launching
  --test-net               the same steps on testnet (netuid 76; no faucet, no subnet creation)
  --main-net               the same steps on mainnet (netuid 20; needs --max-burn)
  --netuid         num     the netuid            (default: 1 local, 76 with --test-net, 20 with --main-net)
  --chain-endpoint url     local chain endpoint                      (default: ws://127.0.0.1:9944)
  --model          repo    model the miners serve           (default: Qwen/Qwen2.5-0.5B-Instruct)
  --openai-api-base url    miners attach to this OpenAI-compatible server instead of starting one
  --llm-base-url   url     validators rephrase tasks with this OpenAI-compatible server (optional)
  --base-port      num     first miner port; miner i listens on base+i             (default: 8091)
  --max-burn       tao     highest registration price accepted                (default: 10 locally)
  --password-file  file    wallet password for test/main nets (local wallets have none)
  --fund           tao     test TAO sent from //Alice to each local wallet (owner: 100x)    (default: 100)
  --pm2                    launch under pm2 (scripts/ecosystem.*.config.js) instead of background jobs
  --stop                   stop the neurons a previous run launched in the background, and exit
  --dry-run                print the commands, run nothing
  -h, --help               this help

Example: scripts/quickstart_local.sh --only-launch
This skips everything and just launches the already registered and funded validators and miners.
EOF
}

# ----------------------------------------------------------------------------------- defaults
NUM_VALIDATORS=1
NUM_MINERS=2
PREFIX=local_subnet_testing_bitagent
DO_WALLET=1 DO_FAUCET=1 DO_SUBNET=1 DO_VAL_REG=1 DO_MINER_REG=1 DO_LAUNCH_V=1 DO_LAUNCH_M=1
NET=local
NETUID=""
ENDPOINT=${BT_CHAIN_ENDPOINT:-ws://127.0.0.1:9944}
MODEL=${MINER_MODEL:-Qwen/Qwen2.5-0.5B-Instruct}
OPENAI_API_BASE=""
LLM_BASE_URL=""
BASE_PORT=8091
MAX_BURN=""
PASSWORD_FILE=""
FUND=100
USE_PM2=0
STOP=0
DRY_RUN=0
BITAGENT=${BITAGENT:-bitagent}
RUN_DIR=${RUN_DIR:-.bitagent/quickstart}

need_value() { [ "$#" -ge 2 ] && [ -n "$2" ] || { echo "error: $1 needs a value (see --help)" >&2; exit 2; }; }

while [ "$#" -gt 0 ]; do
  case "$1" in
    --num_validators|--num-validators) need_value "$@"; NUM_VALIDATORS=$2; shift ;;
    --num_miners|--num-miners) need_value "$@"; NUM_MINERS=$2; shift ;;
    --subnet_prefix|--subnet-prefix) need_value "$@"; PREFIX=$2; shift ;;
    --skip-wallet) DO_WALLET=0 ;;
    --skip-faucet) DO_FAUCET=0 ;;
    --skip-subnet) DO_SUBNET=0 ;;
    --skip-reg) DO_VAL_REG=0; DO_MINER_REG=0 ;;
    --skip-val-reg) DO_VAL_REG=0 ;;
    --skip-miner-reg) DO_MINER_REG=0 ;;
    --skip-launch) DO_LAUNCH_V=0; DO_LAUNCH_M=0 ;;
    --skip-launch_v|--skip-launch-v) DO_LAUNCH_V=0 ;;
    --only-launch) DO_WALLET=0; DO_FAUCET=0; DO_SUBNET=0; DO_VAL_REG=0; DO_MINER_REG=0 ;;
    --test-net|--testnet) NET=test ;;
    --main-net|--mainnet) NET=finney ;;
    --netuid) need_value "$@"; NETUID=$2; shift ;;
    --chain-endpoint) need_value "$@"; ENDPOINT=$2; shift ;;
    --model) need_value "$@"; MODEL=$2; shift ;;
    --openai-api-base) need_value "$@"; OPENAI_API_BASE=$2; shift ;;
    --llm-base-url) need_value "$@"; LLM_BASE_URL=$2; shift ;;
    --base-port) need_value "$@"; BASE_PORT=$2; shift ;;
    --max-burn) need_value "$@"; MAX_BURN=$2; shift ;;
    --password-file) need_value "$@"; PASSWORD_FILE=$2; shift ;;
    --fund) need_value "$@"; FUND=$2; shift ;;
    --pm2) USE_PM2=1 ;;
    --stop) STOP=1 ;;
    --dry-run) DRY_RUN=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

for v in NUM_VALIDATORS NUM_MINERS BASE_PORT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "error: --$(echo "$v" | tr 'A-Z' 'a-z') must be a number" >&2; exit 2; }
done

case "$NET" in
  local) PROFILE=local; NETUID=${NETUID:-1}; NETFLAGS=(--network local --chain-endpoint "$ENDPOINT") ;;
  test) PROFILE=testnet; NETUID=${NETUID:-76}; NETFLAGS=(--network test); DO_FAUCET=0; DO_SUBNET=0 ;;
  finney) PROFILE=mainnet; NETUID=${NETUID:-20}; NETFLAGS=(--network finney); DO_FAUCET=0; DO_SUBNET=0 ;;
esac
NETCOMMON=(--profile "$PROFILE" "${NETFLAGS[@]}")  # wallet-setup takes no netuid
COMMON=("${NETCOMMON[@]}" --netuid "$NETUID")
if [ "$NET" = finney ] && [ -z "$MAX_BURN" ] && [ $((DO_VAL_REG + DO_MINER_REG)) -gt 0 ]; then
  echo "error: --main-net registration spends real TAO; pass --max-burn TAO (the most you accept to pay)" >&2
  exit 2
fi
MAX_BURN=${MAX_BURN:-10}
NEW_KEY_FLAGS=()  # how wallet-setup protects a new coldkey
UNLOCK_FLAGS=()   # how register unlocks it (local test keys are not encrypted)
if [ "$NET" = local ]; then
  NEW_KEY_FLAGS=(--no-password)
elif [ -n "$PASSWORD_FILE" ]; then
  NEW_KEY_FLAGS=(--password-file "$PASSWORD_FILE")
  UNLOCK_FLAGS=(--password-file "$PASSWORD_FILE")
fi

OWNER="${PREFIX}_owner"
validators=() miners=()
for ((i = 0; i < NUM_VALIDATORS; i++)); do validators+=("${PREFIX}_validator_$i"); done
for ((i = 0; i < NUM_MINERS; i++)); do miners+=("${PREFIX}_miner_$i"); done

run() {  # print, then run unless --dry-run
  printf '+'; printf ' %q' "$@"; printf '\n'
  [ "$DRY_RUN" = 1 ] || "$@"
}

# ----------------------------------------------------------------------------------- stop
if [ "$STOP" = 1 ]; then
  shopt -s nullglob
  for pidfile in "$RUN_DIR"/*.pid; do
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      run kill -TERM "$pid"
    fi
    [ "$DRY_RUN" = 1 ] || rm -f "$pidfile"
  done
  exit 0
fi

# ----------------------------------------------------------------------------------- wallets
if [ "$DO_WALLET" = 1 ]; then
  echo "== wallets (${#validators[@]} validator(s), ${#miners[@]} miner(s), owner $OWNER)"
  # existing keys are kept (wallet-setup never overwrites without --overwrite)
  [ "$DO_SUBNET" = 1 ] && run "$BITAGENT" wallet-setup "${NETCOMMON[@]}" --role owner --wallet-name "$OWNER" \
    --wallet-hotkey default "${NEW_KEY_FLAGS[@]}"
  for w in "${validators[@]}"; do
    run "$BITAGENT" wallet-setup "${NETCOMMON[@]}" --role validator --wallet-name "$w" --wallet-hotkey default \
      "${NEW_KEY_FLAGS[@]}"
  done
  for w in "${miners[@]}"; do
    run "$BITAGENT" wallet-setup "${NETCOMMON[@]}" --role miner --wallet-name "$w" --wallet-hotkey default \
      "${NEW_KEY_FLAGS[@]}"
  done
fi

# ----------------------------------------------------------------------------------- faucet (local)
if [ "$DO_FAUCET" = 1 ]; then
  echo "== funding from the local dev account (//Alice)"
  # on existing wallets wallet-setup only funds; the owner pays for the subnet
  [ "$DO_SUBNET" = 1 ] && run "$BITAGENT" wallet-setup "${NETCOMMON[@]}" --role owner --wallet-name "$OWNER" \
    --wallet-hotkey default "${NEW_KEY_FLAGS[@]}" --fund "$(awk "BEGIN {print $FUND * 100}")"
  for w in "${validators[@]}" "${miners[@]}"; do
    run "$BITAGENT" wallet-setup "${NETCOMMON[@]}" --wallet-name "$w" --wallet-hotkey default "${NEW_KEY_FLAGS[@]}" \
      --fund "$FUND"
  done
fi

# ----------------------------------------------------------------------------------- subnet (local)
if [ "$DO_SUBNET" = 1 ]; then
  echo "== subnet $NETUID"
  if [ "$DRY_RUN" = 0 ] && btcli subnets show "$NETUID" -n "$ENDPOINT" --json >/dev/null 2>&1; then
    echo "subnet $NETUID already exists"
  else
    # bitagent has no subnet-owner commands; btcli (bundled with bittensor 11) creates and starts it.
    run btcli subnets create -n "$ENDPOINT" -w "$OWNER" -H default -y
    run btcli hparams start --netuid "$NETUID" -n "$ENDPOINT" -w "$OWNER" -H default -y
  fi
fi

# ----------------------------------------------------------------------------------- registration
register() {
  run "$BITAGENT" register "${COMMON[@]}" --wallet-name "$1" --wallet-hotkey default --max-burn "$MAX_BURN" \
    "${UNLOCK_FLAGS[@]}" --yes
}
if [ "$DO_VAL_REG" = 1 ]; then
  echo "== registering validators"
  for w in "${validators[@]}"; do register "$w"; done
  echo "   (setting weights needs a validator permit; if the chain gives none, stake some TAO:"
  echo "    btcli stake add -n ${ENDPOINT} -w <validator wallet> -H default --netuid $NETUID)"
fi
if [ "$DO_MINER_REG" = 1 ]; then
  echo "== registering miners"
  for w in "${miners[@]}"; do register "$w"; done
fi

# ----------------------------------------------------------------------------------- launch
[ "$DRY_RUN" = 1 ] || mkdir -p "$RUN_DIR"

launch() {  # launch NAME CMD...
  local name=$1; shift
  if [ "$USE_PM2" = 1 ]; then
    return 0  # started below through the ecosystem files
  fi
  printf '+'; printf ' %q' "$@"; printf ' > %s 2>&1 &\n' "$RUN_DIR/$name.log"
  [ "$DRY_RUN" = 1 ] && return 0
  nohup "$@" >"$RUN_DIR/$name.log" 2>&1 &
  echo $! >"$RUN_DIR/$name.pid"
  echo "   $name: pid $!, log $RUN_DIR/$name.log"
}

if [ "$DO_LAUNCH_M" = 1 ]; then
  echo "== launching ${#miners[@]} miner(s)"
  for i in "${!miners[@]}"; do
    args=(mine "${COMMON[@]}" --wallet-name "${miners[$i]}" --wallet-hotkey default --port $((BASE_PORT + i))
          --min-validator-stake 0)
    if [ -n "$OPENAI_API_BASE" ]; then args+=(--openai-api-base "$OPENAI_API_BASE"); else args+=(--hf-model-name-to-run "$MODEL"); fi
    launch "${miners[$i]}" "$BITAGENT" "${args[@]}"
    if [ "$USE_PM2" = 1 ]; then
      run env BITAGENT_BIN="$BITAGENT" NAME="${miners[$i]}" PROFILE="$PROFILE" NETWORK="${NETFLAGS[1]}" \
        CHAIN_ENDPOINT="$([ "$NET" = local ] && echo "$ENDPOINT")" NETUID="$NETUID" WALLET_NAME="${miners[$i]}" \
        WALLET_HOTKEY=default PORT=$((BASE_PORT + i)) MODEL="$MODEL" OPENAI_API_BASE="$OPENAI_API_BASE" \
        MIN_VALIDATOR_STAKE=0 pm2 start scripts/ecosystem.miner.config.js
    fi
  done
fi
if [ "$DO_LAUNCH_V" = 1 ]; then
  echo "== launching ${#validators[@]} validator(s)"
  for w in "${validators[@]}"; do
    args=(validate "${COMMON[@]}" --wallet-name "$w" --wallet-hotkey default)
    [ -n "$LLM_BASE_URL" ] && args+=(--llm-base-url "$LLM_BASE_URL")
    [ "$NET" = local ] && args+=(--step-seconds 12)
    launch "$w" "$BITAGENT" "${args[@]}"
    if [ "$USE_PM2" = 1 ]; then
      run env BITAGENT_BIN="$BITAGENT" NAME="$w" PROFILE="$PROFILE" NETWORK="${NETFLAGS[1]}" \
        CHAIN_ENDPOINT="$([ "$NET" = local ] && echo "$ENDPOINT")" NETUID="$NETUID" WALLET_NAME="$w" \
        WALLET_HOTKEY=default LLM_BASE_URL="$LLM_BASE_URL" STEP_SECONDS="$([ "$NET" = local ] && echo 12)" \
        pm2 start scripts/ecosystem.validator.config.js
    fi
  done
fi

if [ "$USE_PM2" = 0 ] && [ $((DO_LAUNCH_M + DO_LAUNCH_V)) -gt 0 ] && [ "$DRY_RUN" = 0 ]; then
  echo "running in the background; logs in $RUN_DIR; stop with: $0 --stop"
fi
