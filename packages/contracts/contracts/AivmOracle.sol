// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AivmEip712} from "./AivmEip712.sol";
import {AivmLightClient} from "./AivmLightClient.sol";
import {IAivmConsumer} from "./IAivmConsumer.sol";

/// @title AivmOracle
/// @notice Contracts ask AIVM for an inference here and get the result back through
///         `IAivmConsumer.aivmCallback`, delivered by any relayer with either a Groth16 proof
///         (`fulfillZk`) or signatures of AIVM validators holding > 2/3 of the power
///         (`fulfillAttested`, checked by AivmLightClient). Nothing about the relayer is trusted.
///         See docs/evm.md.
///
/// Request lifecycle: Pending → (Relayed) → Fulfilled | CallbackFailed | Refunded, and
/// CallbackFailed → Fulfilled through `retryCallback`. A status never moves back.
///
/// Fees (native ETH): `quote = aivmFee + callbackGasLimit × callbackGasPrice()`.
///   - `aivmFee = ceil(aivmCost × weiPerCgpt × (10000 + premiumBps) / (1e18 × 10000))`: what the
///     relayer pays on AIVM for the request, in CGPT wei, converted at the owner's rate (ETH wei
///     per 1 CGPT, 18-decimal fixed point) plus the relayer's premium; rounded up once, so the
///     relayer never gets less than the exact amount. `aivmCost` is the model's AIVM price
///     (`aivmPriceWei`, redundancy 1) plus the gas of the AIVM inference/request transaction:
///     `aivmOnchainGasWei` for the on-chain tier (the model runs inside it), `aivmGasWei` for the
///     zk and optimistic tiers; all three are the owner's copy of AIVM's numbers (see docs/evm.md).
///   - `callbackGasPrice() = max(block.basefee, minGasPrice) + gasTip`. The base fee of the block
///     the request lands in is current by construction (an owner-set price goes stale, and
///     tx.gasprice is whatever the requester chose); the owner's floor covers chains with a
///     near-zero base fee and the tip is what a relayer has to bid.
/// The quote can change from block to block: send a margin, the excess is refunded in the same
/// transaction. The whole fee paid goes to the first relayer that delivers a valid result; a
/// timed-out request refunds exactly that fee.
contract AivmOracle {
    // ---------------------------------------------------------------- types

    /// @notice Request status. `None` for ids never issued.
    enum Status {
        None,
        Pending,
        Relayed,
        Fulfilled,
        CallbackFailed,
        Refunded
    }

    /// @notice How a model's Groth16 circuit takes its input (docs/evm.md, "zk path").
    enum InputMode {
        Public,
        Committed
    }

    /// @notice A registered model. Everything but the AIVM price and gas and `active` is fixed
    ///         at registration. The fulfil paths read only the first two slots.
    struct Model {
        address verifier; // Groth16 verifier (snarkjs form); address(0): no zk delivery
        bytes4 selector; // verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[N])
        InputMode inputMode;
        bool hasWeightCommitment;
        uint8 tiers; // bit mask of the tiers offered (1 on-chain, 2 zk, 4 optimistic)
        bool active; // requests accepted
        uint16 inputLen; // input elements (int8 bytes)
        uint16 outputLen; // output elements (int32)
        uint256 weightCommitment; // private-weights circuits
        uint128 aivmPriceWei; // CGPT wei: the AIVM model's priceWei (per request, redundancy 1)
        uint64 aivmGasWei; // CGPT wei: gas of the AIVM request transaction, zk and optimistic tiers
        uint64 aivmOnchainGasWei; // CGPT wei: gas of the AIVM request transaction, on-chain tier
    }

    /// @notice What the owner gives to register a model.
    struct ModelConfig {
        address verifier;
        InputMode inputMode;
        bool hasWeightCommitment;
        uint256 weightCommitment;
        uint16 inputLen;
        uint16 outputLen;
        uint8 tiers;
        uint128 aivmPriceWei;
        uint64 aivmGasWei;
        uint64 aivmOnchainGasWei;
    }

    /// @notice A request as stored. On delivery `outputHash` (keccak256 of the output) is stored
    ///         before the callback runs and the output bytes go into the ResultDelivered event;
    ///         the bytes themselves are stored too when the callback fails (for retryCallback) or
    ///         when there is no callback (callbackGasLimit 0: the requester reads them here). A
    ///         consumer whose callback succeeded got them in the callback. This keeps 40 output
    ///         bytes (10 scores) from costing 3 fresh storage slots (~66k gas) on every delivery.
    struct Request {
        address requester;
        Status status;
        uint8 tier;
        bool committed; // made by requestInferenceCommitted
        uint32 callbackGasLimit;
        uint40 deadline; // refundable after this block
        bytes32 modelId;
        bytes32 inputHash; // keccak256(input bytes); 0 when a committed request gave none
        uint256 inputCommitment; // commitInputs(input) (Poseidon); committed requests only
        uint128 fee; // wei paid (the quote at request time)
        uint64 aivmRequestId; // from markRelayed or the attested delivery (informational)
        bytes32 outputHash; // keccak256(output), set on delivery
        bytes callbackData;
        bytes output; // stored when the callback failed or there is none (see above)
    }

    // ---------------------------------------------------------------- constants

    uint8 public constant TIER_ON_CHAIN = 1;
    uint8 public constant TIER_ZK = 2;
    uint8 public constant TIER_OPTIMISTIC = 4;
    /// @notice BN254 scalar field order: public signals and commitments live below it.
    uint256 public constant FIELD_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @notice Limits on requester-given bytes.
    uint256 public constant MAX_CALLBACK_DATA = 1024;
    uint256 public constant MAX_INPUT_URI = 512;
    /// @notice Revert data of a failed callback is hashed up to this many bytes.
    uint256 public constant MAX_REVERT_DATA = 1024;
    /// @notice Denominators of the rate (18-decimal fixed point) and of the premium (basis points).
    uint256 private constant RATE_ONE = 1e18;
    uint256 private constant BPS = 10_000;
    /// @dev Gas kept back around the callback's CALL (cold account access + call setup).
    uint256 private constant CALL_RESERVE = 5000;

    // ---------------------------------------------------------------- errors

    error NotOwner(address caller);
    error ModelExists(bytes32 modelId);
    error UnknownModel(bytes32 modelId);
    error ModelInactive(bytes32 modelId);
    error BadModelConfig(string reason);
    error TierNotOffered(bytes32 modelId, uint8 tier);
    error BadInputLength(uint256 expected, uint256 given);
    error BadOutputLength(uint256 expected, uint256 given);
    error CallbackDataTooLong(uint256 length);
    error InputUriTooLong(uint256 length);
    error CallbackGasTooHigh(uint256 limit, uint256 max);
    error NotAFieldElement(uint256 value);
    /// @notice The request could never be delivered (e.g. a zk request whose input form does not
    ///         match the model's circuit, or a committed request without inputHash or zk path).
    error Undeliverable(string reason);
    error InsufficientPayment(uint256 quote, uint256 paid);
    error UnknownRequest(uint256 id);
    /// @notice The request is not open for this action (already delivered, refunded, ...).
    error WrongStatus(uint256 id, Status status);
    error NoVerifier(bytes32 modelId);
    error InputMismatch(uint256 id);
    error InvalidProof(uint256 id);
    error InputHashUnknown(uint256 id);
    error InsufficientAttestation(uint256 id);
    error InsufficientGasForCallback(uint256 callbackGasLimit);
    error RetryGasTooLow(uint256 given, uint256 stored);
    error TooEarly(uint256 id, uint256 deadline);
    error TransferFailed(address to, uint256 amount);

    // ---------------------------------------------------------------- events

    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event ConfigUpdated(uint128 minGasPrice, uint128 gasTip, uint40 timeoutBlocks, uint32 maxCallbackGasLimit);
    event ModelRegistered(
        bytes32 indexed modelId, address verifier, InputMode inputMode, uint16 inputLen, uint16 outputLen, uint8 tiers
    );
    /// @notice The AIVM price and request-transaction gas of a model, in CGPT wei.
    event ModelPriceUpdated(
        bytes32 indexed modelId, uint128 aivmPriceWei, uint64 aivmGasWei, uint64 aivmOnchainGasWei
    );
    /// @notice The CGPT → ETH rate (ETH wei per 1 CGPT, 18 decimals) and the relayer premium (bps).
    event AivmPricingUpdated(uint96 weiPerCgpt, uint16 premiumBps);
    event ModelActiveSet(bytes32 indexed modelId, bool active);
    /// @notice A new request. `input` is set for requestInference, `inputURI` for committed ones.
    event InferenceRequested(
        uint256 indexed id,
        address indexed requester,
        bytes32 indexed modelId,
        uint8 tier,
        bytes32 inputHash,
        uint256 inputCommitment,
        bytes input,
        string inputURI,
        uint256 fee,
        uint32 callbackGasLimit,
        uint40 deadline
    );
    event Relayed(uint256 indexed id, uint64 aivmRequestId, address indexed by);
    /// @notice A valid result was stored (its hash; see Request); `path` 1 = zk proof, 2 = attestations.
    event ResultDelivered(uint256 indexed id, address indexed relayer, uint8 path, bytes output, uint256 fee);
    event CallbackFailed(uint256 indexed id, bytes32 revertDataHash);
    event CallbackRetried(uint256 indexed id, bool success);
    event Refunded(uint256 indexed id, address indexed requester, uint256 amount);

    // ---------------------------------------------------------------- state

    /// @notice The AIVM light client that checks attestations (fixed at deployment).
    AivmLightClient public immutable lightClient;
    /// @dev The light client's EIP-712 domain separator, cached.
    bytes32 private immutable _domainSeparator;

    address public owner;
    uint128 public minGasPrice;
    uint128 public gasTip;
    uint40 public timeoutBlocks;
    uint32 public maxCallbackGasLimit;
    // In the slot of timeoutBlocks and maxCallbackGasLimit, which a request reads anyway; read
    // through aivmPricing().
    uint96 private _weiPerCgpt; // ETH wei per 1 CGPT (1e18 CGPT wei cost this many ETH wei)
    uint16 private _premiumBps; // the relayer's premium on the converted AIVM cost
    uint256 public nextRequestId = 1;

    mapping(bytes32 => Model) private _models;
    mapping(uint256 => Request) private _requests;

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    constructor(
        AivmLightClient lightClient_,
        uint128 minGasPrice_,
        uint128 gasTip_,
        uint40 timeoutBlocks_,
        uint32 maxCallbackGasLimit_,
        uint96 weiPerCgpt_,
        uint16 premiumBps_
    ) {
        lightClient = lightClient_;
        _domainSeparator = lightClient_.DOMAIN_SEPARATOR();
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
        setConfig(minGasPrice_, gasTip_, timeoutBlocks_, maxCallbackGasLimit_);
        setAivmPricing(weiPerCgpt_, premiumBps_);
    }

    // ---------------------------------------------------------------- owner

    function transferOwnership(address newOwner) external onlyOwner {
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    /// @notice Gas price terms of the quote, the timeout (applies to new requests) and the callback gas cap.
    function setConfig(uint128 minGasPrice_, uint128 gasTip_, uint40 timeoutBlocks_, uint32 maxCallbackGasLimit_)
        public
        onlyOwner
    {
        if (timeoutBlocks_ == 0) revert BadModelConfig("timeoutBlocks is 0");
        minGasPrice = minGasPrice_;
        gasTip = gasTip_;
        timeoutBlocks = timeoutBlocks_;
        maxCallbackGasLimit = maxCallbackGasLimit_;
        emit ConfigUpdated(minGasPrice_, gasTip_, timeoutBlocks_, maxCallbackGasLimit_);
    }

    // Selectors: viaIR dispatches by comparing the selector with each function's in ascending
    // order, so every function whose selector sorts below fulfillZk's (0xbbe23502) costs each
    // delivery 22 gas. setAivmPricing, aivmPricing, setModelPrice and registerModel (its
    // ModelConfig tuple) all sort above it (bench:evm-gas).

    /// @notice The CGPT → ETH rate of the AIVM part of the quote (ETH wei per 1 CGPT, 18-decimal
    ///         fixed point; 0 makes that part free) and the relayer premium on it (basis points).
    function setAivmPricing(uint96 weiPerCgpt, uint16 premiumBps) public onlyOwner {
        _weiPerCgpt = weiPerCgpt;
        _premiumBps = premiumBps;
        emit AivmPricingUpdated(weiPerCgpt, premiumBps);
    }

    /// @notice Registers a model once. Its verifier, input mode, weight commitment and sizes are
    ///         then fixed (a new key is a new registration under another id); its AIVM price and
    ///         gas and `active` can change.
    function registerModel(bytes32 modelId, ModelConfig calldata c) external onlyOwner {
        Model storage m = _models[modelId];
        if (m.tiers != 0) revert ModelExists(modelId);
        if (c.tiers == 0 || c.tiers & ~uint8(7) != 0) revert BadModelConfig("tiers");
        if (c.outputLen == 0) revert BadModelConfig("outputLen");
        if (c.inputLen == 0) revert BadModelConfig("inputLen");
        if (c.weightCommitment >= FIELD_R || (!c.hasWeightCommitment && c.weightCommitment != 0)) {
            revert BadModelConfig("weightCommitment");
        }
        if (c.tiers & TIER_ZK != 0 && c.verifier == address(0)) revert BadModelConfig("zk tier needs a verifier");
        m.verifier = c.verifier;
        m.inputMode = c.inputMode;
        m.hasWeightCommitment = c.hasWeightCommitment;
        m.tiers = c.tiers;
        m.active = true;
        m.inputLen = c.inputLen;
        m.outputLen = c.outputLen;
        m.weightCommitment = c.weightCommitment;
        m.aivmPriceWei = c.aivmPriceWei;
        m.aivmGasWei = c.aivmGasWei;
        m.aivmOnchainGasWei = c.aivmOnchainGasWei;
        if (c.verifier != address(0)) {
            uint256 n = uint256(c.outputLen) + (c.inputMode == InputMode.Public ? c.inputLen : 1)
                + (c.hasWeightCommitment ? 1 : 0);
            m.selector = bytes4(
                keccak256(
                    abi.encodePacked(
                        "verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[", _decimal(n), "])"
                    )
                )
            );
        }
        emit ModelRegistered(modelId, c.verifier, c.inputMode, c.inputLen, c.outputLen, c.tiers);
        emit ModelPriceUpdated(modelId, c.aivmPriceWei, c.aivmGasWei, c.aivmOnchainGasWei);
    }

    /// @notice Follows a change of the model's price on AIVM (or of AIVM's gas price): CGPT wei.
    function setModelPrice(bytes32 modelId, uint128 aivmPriceWei, uint64 aivmGasWei, uint64 aivmOnchainGasWei)
        external
        onlyOwner
    {
        Model storage m = _known(modelId);
        m.aivmPriceWei = aivmPriceWei;
        m.aivmGasWei = aivmGasWei;
        m.aivmOnchainGasWei = aivmOnchainGasWei;
        emit ModelPriceUpdated(modelId, aivmPriceWei, aivmGasWei, aivmOnchainGasWei);
    }

    function setModelActive(bytes32 modelId, bool active) external onlyOwner {
        Model storage m = _known(modelId);
        m.active = active;
        emit ModelActiveSet(modelId, active);
    }

    // ---------------------------------------------------------------- views

    function getModel(bytes32 modelId) external view returns (Model memory) {
        return _models[modelId];
    }

    function getRequest(uint256 id) external view returns (Request memory) {
        return _requests[id];
    }

    function statusOf(uint256 id) external view returns (Status) {
        return _requests[id].status;
    }

    /// @notice The CGPT → ETH rate (ETH wei per 1 CGPT, 18 decimals) and the relayer premium (bps).
    function aivmPricing() external view returns (uint96 weiPerCgpt, uint16 premiumBps) {
        return (_weiPerCgpt, _premiumBps);
    }

    /// @notice Gas price used for the callback part of the quote in this block.
    function callbackGasPrice() public view returns (uint256) {
        uint256 base = block.basefee;
        return (base > minGasPrice ? base : minGasPrice) + gasTip;
    }

    /// @notice Wei to send with a request in this block; reverts for unknown models or tiers not
    ///         offered. See the contract's notice for the formula; the AIVM part rounds up.
    function quote(bytes32 modelId, uint8 tier, uint32 callbackGasLimit) public view returns (uint256) {
        Model storage m = _known(modelId);
        _checkTier(modelId, m.tiers, tier);
        if (callbackGasLimit > maxCallbackGasLimit) revert CallbackGasTooHigh(callbackGasLimit, maxCallbackGasLimit);
        uint256 cgpt = uint256(m.aivmPriceWei) + (tier == TIER_ON_CHAIN ? m.aivmOnchainGasWei : m.aivmGasWei);
        // < 2^129 × 2^96 × 2^17: no overflow. A quote of 2^128 or more cannot be paid (msg.value),
        // so the uint128 fee _create stores never truncates.
        uint256 n = cgpt * _weiPerCgpt * (BPS + _premiumBps);
        uint256 aivmFee = n == 0 ? 0 : (n - 1) / (RATE_ONE * BPS) + 1;
        return aivmFee + uint256(callbackGasLimit) * callbackGasPrice();
    }

    /// @notice EIP-712 digest AIVM validators sign for a result (see AivmLightClient.resultDigest).
    function resultDigest(uint64 aivmRequestId, bytes32 modelId, uint8 tier, bytes32 inputHash, bytes32 outputHash)
        public
        view
        returns (bytes32)
    {
        return AivmEip712.resultDigest(_domainSeparator, aivmRequestId, modelId, tier, inputHash, outputHash);
    }

    // ---------------------------------------------------------------- requests

    /// @notice Asks for an inference on `input` (int8 per element, the model's input size).
    /// @return id the oracle's request id.
    function requestInference(
        bytes32 modelId,
        bytes calldata input,
        uint8 tier,
        uint32 callbackGasLimit,
        bytes calldata callbackData
    ) external payable returns (uint256 id) {
        Model storage m = _active(modelId);
        if (input.length != m.inputLen) revert BadInputLength(m.inputLen, input.length);
        if (tier == TIER_ZK && m.inputMode != InputMode.Public) {
            revert Undeliverable("zk tier on a committed-input model: use requestInferenceCommitted");
        }
        bytes32 inputHash = keccak256(input);
        id = _create(m, modelId, tier, callbackGasLimit, callbackData, inputHash, 0, false);
        emit InferenceRequested(
            id, msg.sender, modelId, tier, inputHash, 0, input, "", _requests[id].fee, callbackGasLimit,
            _requests[id].deadline
        );
        _refundExcess(id);
    }

    /// @notice Asks for an inference on an input given by its Poseidon commitment (`commitInputs`
    ///         (AIVM zk package)) and a URI the relayer fetches it from. `inputHash` (keccak256 of the
    ///         input bytes) is what AIVM validators attest: give it to allow attested delivery;
    ///         with 0 only a zk proof can deliver.
    function requestInferenceCommitted(
        bytes32 modelId,
        uint256 inputCommitment,
        bytes32 inputHash,
        string calldata inputURI,
        uint8 tier,
        uint32 callbackGasLimit,
        bytes calldata callbackData
    ) external payable returns (uint256 id) {
        Model storage m = _active(modelId);
        if (inputCommitment >= FIELD_R) revert NotAFieldElement(inputCommitment);
        if (bytes(inputURI).length > MAX_INPUT_URI) revert InputUriTooLong(bytes(inputURI).length);
        bool zkPossible = m.verifier != address(0) && m.inputMode == InputMode.Committed;
        if (tier == TIER_ZK && !zkPossible) revert Undeliverable("zk tier needs a committed-input circuit");
        if (inputHash == bytes32(0) && !zkPossible) revert Undeliverable("no inputHash and no zk path");
        id = _create(m, modelId, tier, callbackGasLimit, callbackData, inputHash, inputCommitment, true);
        emit InferenceRequested(
            id, msg.sender, modelId, tier, inputHash, inputCommitment, "", inputURI, _requests[id].fee,
            callbackGasLimit, _requests[id].deadline
        );
        _refundExcess(id);
    }

    /// @notice Informational: anyone may note the AIVM request id a relayer opened. It moves
    ///         Pending → Relayed once and never blocks delivery (a wrong id changes nothing: the
    ///         attested path takes the AIVM request id as an argument and checks signatures).
    function markRelayed(uint256 id, uint64 aivmRequestId) external {
        Request storage r = _requests[id];
        if (r.status != Status.Pending) revert WrongStatus(id, r.status);
        r.status = Status.Relayed;
        r.aivmRequestId = aivmRequestId;
        emit Relayed(id, aivmRequestId, msg.sender);
    }

    // ---------------------------------------------------------------- delivery

    /// @notice Delivers a result with a Groth16 proof. The public signals are rebuilt here from
    ///         the request, exactly as `zkPublicSignals` (AIVM zk package): the output values, then the
    ///         input values (public mode; `input` is checked against the request's inputHash) or
    ///         the request's input commitment (committed mode; `input` must be empty), then the
    ///         model's weight commitment.
    /// @param proof A, B, C as 8 words in AIVM's order (A.x, A.y, B.x.c0, B.x.c1, B.y.c0, B.y.c1,
    ///        C.x, C.y): the 256 proof bytes AIVM stores, `encodeProofPoints` (AIVM zk package).
    function fulfillZk(uint256 id, bytes calldata output, uint256[8] calldata proof, bytes calldata input) external {
        Request storage r = _open(id);
        Model storage m = _models[r.modelId];
        address verifier = m.verifier;
        if (verifier == address(0)) revert NoVerifier(r.modelId);
        uint256 outLen = m.outputLen;
        if (output.length != outLen * 4) revert BadOutputLength(outLen * 4, output.length);
        bool isPublic = m.inputMode == InputMode.Public;
        uint256 inLen = isPublic ? m.inputLen : 1;
        uint256[] memory signals = new uint256[](outLen + inLen + (m.hasWeightCommitment ? 1 : 0));
        for (uint256 i; i < outLen; ++i) {
            signals[i] = _field(_int32le(output, i));
        }
        if (isPublic) {
            if (r.committed || input.length != inLen || keccak256(input) != r.inputHash) revert InputMismatch(id);
            for (uint256 i; i < inLen; ++i) {
                signals[outLen + i] = _field(int8(uint8(input[i])));
            }
        } else {
            if (!r.committed || input.length != 0) revert InputMismatch(id);
            signals[outLen] = r.inputCommitment;
        }
        if (m.hasWeightCommitment) signals[signals.length - 1] = m.weightCommitment;
        if (!_checkProof(verifier, m.selector, proof, signals)) revert InvalidProof(id);
        _deliver(id, r, output, 1);
    }

    /// @notice Delivers a result signed by AIVM validators holding > 2/3 of the light client's
    ///         current set: the signed message is `AivmResult(aivmRequestId, modelId, tier,
    ///         inputHash, keccak256(output))` with this request's model, tier and inputHash.
    /// @param signatures packed 65-byte signatures, ordered by signer address ascending.
    function fulfillAttested(uint256 id, uint64 aivmRequestId, bytes calldata output, bytes calldata signatures)
        external
    {
        Request storage r = _open(id);
        bytes32 inputHash = r.inputHash;
        if (inputHash == bytes32(0)) revert InputHashUnknown(id);
        uint256 outBytes = uint256(_models[r.modelId].outputLen) * 4;
        if (output.length != outBytes) revert BadOutputLength(outBytes, output.length);
        bytes32 digest = AivmEip712.resultDigest(
            _domainSeparator, aivmRequestId, r.modelId, r.tier, inputHash, keccak256(output)
        );
        if (!lightClient.verifyAttestation(digest, signatures)) revert InsufficientAttestation(id);
        r.aivmRequestId = aivmRequestId;
        _deliver(id, r, output, 2);
    }

    /// @notice Runs a failed callback again, with the request's gas limit or a larger one. Anyone
    ///         may call (and pays the gas).
    function retryCallback(uint256 id, uint32 gasLimit) external {
        Request storage r = _requests[id];
        if (r.status != Status.CallbackFailed) revert WrongStatus(id, r.status);
        if (gasLimit < r.callbackGasLimit) revert RetryGasTooLow(gasLimit, r.callbackGasLimit);
        r.status = Status.Fulfilled; // final while the callback runs: nothing can re-enter this request
        (bool ok, bytes32 revertHash) = _callback(id, r, r.output, gasLimit);
        if (!ok) {
            r.status = Status.CallbackFailed;
            emit CallbackFailed(id, revertHash);
        }
        emit CallbackRetried(id, ok);
    }

    /// @notice After the request's deadline block, an undelivered request returns exactly the fee
    ///         paid to its requester. Anyone may call.
    function refund(uint256 id) external {
        Request storage r = _open(id);
        if (block.number <= r.deadline) revert TooEarly(id, r.deadline);
        r.status = Status.Refunded;
        uint256 amount = r.fee;
        address to = r.requester;
        emit Refunded(id, to, amount);
        _pay(to, amount);
    }

    // ---------------------------------------------------------------- internals

    function _create(
        Model storage m,
        bytes32 modelId,
        uint8 tier,
        uint32 callbackGasLimit,
        bytes calldata callbackData,
        bytes32 inputHash,
        uint256 inputCommitment,
        bool committed
    ) private returns (uint256 id) {
        _checkTier(modelId, m.tiers, tier);
        if (callbackData.length > MAX_CALLBACK_DATA) revert CallbackDataTooLong(callbackData.length);
        uint256 price = quote(modelId, tier, callbackGasLimit);
        if (msg.value < price) revert InsufficientPayment(price, msg.value);
        id = nextRequestId++;
        Request storage r = _requests[id];
        r.requester = msg.sender;
        r.status = Status.Pending;
        r.tier = tier;
        r.committed = committed;
        r.callbackGasLimit = callbackGasLimit;
        r.deadline = uint40(block.number) + timeoutBlocks;
        r.modelId = modelId;
        r.inputHash = inputHash;
        if (committed) r.inputCommitment = inputCommitment;
        r.fee = uint128(price);
        if (callbackData.length != 0) r.callbackData = callbackData;
    }

    /// @dev Sends back what was paid over the stored fee (last: checks-effects-interactions).
    function _refundExcess(uint256 id) private {
        uint256 excess = msg.value - _requests[id].fee;
        if (excess != 0) _pay(msg.sender, excess);
    }

    /// @dev The request `id`, open for delivery or refund (Pending or Relayed).
    function _open(uint256 id) private view returns (Request storage r) {
        r = _requests[id];
        Status s = r.status;
        if (s != Status.Pending && s != Status.Relayed) {
            if (s == Status.None) revert UnknownRequest(id);
            revert WrongStatus(id, s);
        }
    }

    /// @dev Stores the result (its hash; the bytes too when there is no callback) and marks the
    ///      request final, runs the callback, stores the bytes if it failed, pays the relayer.
    function _deliver(uint256 id, Request storage r, bytes calldata output, uint8 path) private {
        r.outputHash = keccak256(output);
        r.status = Status.Fulfilled; // final before any call: no re-entry can deliver or refund it again
        uint256 fee = r.fee;
        emit ResultDelivered(id, msg.sender, path, output, fee);
        uint32 gasLimit = r.callbackGasLimit;
        if (gasLimit == 0) {
            r.output = output;
        } else {
            (bool ok, bytes32 revertHash) = _callback(id, r, output, gasLimit);
            if (!ok) {
                // Only this request's own fields change after the call, and nothing the callee
                // could do while it ran can have touched them (it was already final).
                r.status = Status.CallbackFailed;
                r.output = output;
                emit CallbackFailed(id, revertHash);
            }
        }
        _pay(msg.sender, fee);
    }

    /// @dev Calls the requester's aivmCallback with exactly `gasLimit` gas (reverts, rather than
    ///      give it less, when too little gas is left); never copies more than MAX_REVERT_DATA
    ///      bytes of revert data.
    function _callback(uint256 id, Request storage r, bytes memory output, uint256 gasLimit)
        private
        returns (bool ok, bytes32 revertHash)
    {
        bytes memory data = abi.encodeCall(IAivmConsumer.aivmCallback, (id, r.modelId, output, r.callbackData));
        address target = r.requester;
        uint256 g = gasleft();
        // EIP-150 leaves the callee at most 63/64 of what remains at the CALL.
        if (g <= CALL_RESERVE || (g - CALL_RESERVE) - (g - CALL_RESERVE) / 64 <= gasLimit) {
            revert InsufficientGasForCallback(gasLimit);
        }
        uint256 cap = MAX_REVERT_DATA;
        assembly {
            ok := call(gasLimit, target, 0, add(data, 32), mload(data), 0, 0)
            if iszero(ok) {
                let size := returndatasize()
                if gt(size, cap) { size := cap }
                let p := mload(0x40)
                returndatacopy(p, 0, size)
                revertHash := keccak256(p, size)
            }
        }
    }

    function _pay(address to, uint256 amount) private {
        if (amount == 0) return;
        (bool ok,) = payable(to).call{value: amount}("");
        if (!ok) revert TransferFailed(to, amount);
    }

    function _known(bytes32 modelId) private view returns (Model storage m) {
        m = _models[modelId];
        if (m.tiers == 0) revert UnknownModel(modelId);
    }

    function _active(bytes32 modelId) private view returns (Model storage m) {
        m = _known(modelId);
        if (!m.active) revert ModelInactive(modelId);
    }

    function _checkTier(bytes32 modelId, uint8 tiers, uint8 tier) private pure {
        if ((tier != 1 && tier != 2 && tier != 4) || tiers & tier == 0) revert TierNotOffered(modelId, tier);
    }

    /// @dev Calls verifyProof(a, b, c, signals) on a snarkjs Groth16 verifier. The proof comes in
    ///      AIVM's word order; snarkjs' verifier takes each B coordinate as (c1, c0), so those swap.
    function _checkProof(address verifier, bytes4 selector, uint256[8] calldata proof, uint256[] memory signals)
        private
        view
        returns (bool)
    {
        uint256 n = signals.length;
        bytes memory data = new bytes(4 + 32 * (8 + n));
        assembly {
            let p := add(data, 32)
            mstore(p, selector)
            p := add(p, 4)
            calldatacopy(p, proof, 64) // A.x, A.y
            mstore(add(p, 64), calldataload(add(proof, 96))) // B.x.c1
            mstore(add(p, 96), calldataload(add(proof, 64))) // B.x.c0
            mstore(add(p, 128), calldataload(add(proof, 160))) // B.y.c1
            mstore(add(p, 160), calldataload(add(proof, 128))) // B.y.c0
            calldatacopy(add(p, 192), add(proof, 192), 64) // C.x, C.y
            mcopy(add(p, 256), add(signals, 32), mul(n, 32))
        }
        (bool ok, bytes memory ret) = verifier.staticcall(data);
        return ok && ret.length == 32 && abi.decode(ret, (uint256)) == 1;
    }

    /// @dev Element i of an int32 little-endian output in calldata.
    function _int32le(bytes calldata output, uint256 i) private pure returns (int32) {
        uint256 w;
        assembly {
            w := shr(224, calldataload(add(output.offset, mul(i, 4))))
        }
        return int32(uint32(((w & 0xff) << 24) | ((w & 0xff00) << 8) | ((w >> 8) & 0xff00) | (w >> 24)));
    }

    /// @dev A signed integer as a BN254 field element: v mod r.
    function _field(int256 v) private pure returns (uint256) {
        return v >= 0 ? uint256(v) : FIELD_R - uint256(-v);
    }

    function _decimal(uint256 v) private pure returns (bytes memory s) {
        if (v == 0) return "0";
        uint256 len;
        for (uint256 t = v; t != 0; t /= 10) ++len;
        s = new bytes(len);
        for (; v != 0; v /= 10) s[--len] = bytes1(uint8(48 + (v % 10)));
    }
}
