// Built-in facts about the 11 RAFT tasks: label lists and text columns exactly as in the TASKS table of HF's
// `ought/raft` loader (raft.py v1.1.0), which the hub CSVs need because task.json is not on the hub; plus a short
// default instruction per task (our own words) for when task.json's description is empty (it is for all 11).

export interface RaftTaskInfo {
  /** Text columns in CSV order (task.json data_columns minus "ID"). */
  textFields: string[];
  /** Label names in ClassLabel order (HF index k >= 1 is labelNames[k - 1]). */
  labelNames: string[];
  instruction: string;
}

const BANKING_77_LABELS = [
  "Refund_not_showing_up", "activate_my_card", "age_limit", "apple_pay_or_google_pay", "atm_support",
  "automatic_top_up", "balance_not_updated_after_bank_transfer", "balance_not_updated_after_cheque_or_cash_deposit",
  "beneficiary_not_allowed", "cancel_transfer", "card_about_to_expire", "card_acceptance", "card_arrival",
  "card_delivery_estimate", "card_linking", "card_not_working", "card_payment_fee_charged",
  "card_payment_not_recognised", "card_payment_wrong_exchange_rate", "card_swallowed", "cash_withdrawal_charge",
  "cash_withdrawal_not_recognised", "change_pin", "compromised_card", "contactless_not_working", "country_support",
  "declined_card_payment", "declined_cash_withdrawal", "declined_transfer", "direct_debit_payment_not_recognised",
  "disposable_card_limits", "edit_personal_details", "exchange_charge", "exchange_rate", "exchange_via_app",
  "extra_charge_on_statement", "failed_transfer", "fiat_currency_support", "get_disposable_virtual_card",
  "get_physical_card", "getting_spare_card", "getting_virtual_card", "lost_or_stolen_card", "lost_or_stolen_phone",
  "order_physical_card", "passcode_forgotten", "pending_card_payment", "pending_cash_withdrawal", "pending_top_up",
  "pending_transfer", "pin_blocked", "receiving_money", "request_refund", "reverted_card_payment?",
  "supported_cards_and_currencies", "terminate_account", "top_up_by_bank_transfer_charge", "top_up_by_card_charge",
  "top_up_by_cash_or_cheque", "top_up_failed", "top_up_limits", "top_up_reverted", "topping_up_by_card",
  "transaction_charged_twice", "transfer_fee_charged", "transfer_into_account", "transfer_not_received_by_recipient",
  "transfer_timing", "unable_to_verify_identity", "verify_my_identity", "verify_source_of_funds", "verify_top_up",
  "virtual_card_not_working", "visa_or_mastercard", "why_verify_identity", "wrong_amount_of_cash_received",
  "wrong_exchange_rate_for_cash_withdrawal",
];

export const RAFT_TASKS: Readonly<Record<string, RaftTaskInfo>> = {
  ade_corpus_v2: {
    textFields: ["Sentence"],
    labelNames: ["ADE-related", "not ADE-related"],
    instruction: "Does this sentence from a medical text describe an adverse effect of a drug?",
  },
  banking_77: {
    textFields: ["Query"],
    labelNames: BANKING_77_LABELS,
    instruction: "Which intent does this bank customer's question express?",
  },
  neurips_impact_statement_risks: {
    textFields: ["Paper title", "Paper link", "Impact statement"],
    labelNames: ["doesn't mention a harmful application", "mentions a harmful application"],
    instruction: "Does this impact statement of an AI paper mention a harmful application of the work?",
  },
  one_stop_english: {
    textFields: ["Article"],
    labelNames: ["advanced", "elementary", "intermediate"],
    instruction: "Is this news article written for elementary, intermediate or advanced learners of English?",
  },
  overruling: {
    textFields: ["Sentence"],
    labelNames: ["not overruling", "overruling"],
    instruction: "Does this sentence from a court ruling overrule an earlier decision?",
  },
  semiconductor_org_types: {
    textFields: ["Paper title", "Organization name"],
    labelNames: ["company", "research institute", "university"],
    instruction: "Is the organization behind this semiconductor paper a company, a university or a research institute?",
  },
  systematic_review_inclusion: {
    textFields: ["Title", "Abstract", "Authors", "Journal"],
    labelNames: ["included", "not included"],
    instruction: "Would this paper go into a systematic review of studies on what makes people give to charity?",
  },
  tai_safety_research: {
    textFields: ["Title", "Abstract Note", "Url", "Publication Year", "Item Type", "Author", "Publication Title"],
    labelNames: ["TAI safety research", "not TAI safety research"],
    instruction: "Is this publication research on making transformative AI safe?",
  },
  terms_of_service: {
    textFields: ["Sentence"],
    labelNames: ["not potentially unfair", "potentially unfair"],
    instruction: "Could this clause of a terms-of-service document be unfair to the user?",
  },
  tweet_eval_hate: {
    textFields: ["Tweet"],
    labelNames: ["hate speech", "not hate speech"],
    instruction: "Is this tweet hate speech against immigrants or women?",
  },
  twitter_complaints: {
    textFields: ["Tweet text"],
    labelNames: ["complaint", "no complaint"],
    instruction: "Is this tweet a complaint?",
  },
};
