pub mod app_events;
pub mod health;
pub mod onboarding;
pub mod wechat_events;
