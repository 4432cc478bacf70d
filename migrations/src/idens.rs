//! Table and column names, shared by the migrations that create and later alter them.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
pub enum Users {
    Table,
    Id,
    Email,
    PasswordHash,
    Name,
    Timezone,
    LastWorkspaceId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Sessions {
    Table,
    Id,
    UserId,
    TokenHash,
    CurrentWorkspaceId,
    UserAgent,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
pub enum Workspaces {
    Table,
    Id,
    Name,
    Plan,
    BillingCustomerId,
    BillingSubscriptionId,
    MissedGraceMinutes,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Memberships {
    Table,
    Id,
    WorkspaceId,
    UserId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum Invitations {
    Table,
    Id,
    WorkspaceId,
    Email,
    Role,
    TokenHash,
    InvitedBy,
    ExpiresAt,
    AcceptedAt,
    AcceptedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum Notifications {
    Table,
    Id,
    WorkspaceId,
    UserId,
    Kind,
    Title,
    Body,
    Link,
    ReadAt,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum ApiKeys {
    Table,
    Id,
    WorkspaceId,
    CreatedBy,
    Name,
    Prefix,
    KeyHash,
    Scopes,
    LastUsedAt,
    RevokedAt,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum AuditLog {
    Table,
    Id,
    WorkspaceId,
    ActorUserId,
    Action,
    SubjectType,
    SubjectId,
    Details,
    Ip,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum PlatformConnections {
    Table,
    Id,
    WorkspaceId,
    Platform,
    PlatformUserId,
    Handle,
    DisplayName,
    AvatarUrl,
    AccessTokenEnc,
    RefreshTokenEnc,
    TokenExpiresAt,
    Scopes,
    IsValid,
    LastError,
    History,
    ConnectedBy,
    CreatedAt,
    UpdatedAt,
    // Added by migration 5.
    Label,
    BaseUrl,
    SecretEnc,
    CheckedAt,
    RefreshLeaseUntil,
    DisconnectedAt,
}

#[derive(DeriveIden)]
pub enum OauthStates {
    Table,
    Id,
    StateHash,
    UserId,
    WorkspaceId,
    Platform,
    VerifierEnc,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
pub enum Posts {
    Table,
    Id,
    WorkspaceId,
    AuthorId,
    Content,
    Media,
    Status,
    ScheduledAt,
    PublishedAt,
    FailReason,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum PostTargets {
    Table,
    Id,
    PostId,
    WorkspaceId,
    Platform,
    ConnectionId,
    ContentOverride,
    State,
    Attempts,
    NextAttemptAt,
    LeaseUntil,
    PlatformPostId,
    PlatformPostUrl,
    LikeCount,
    CommentCount,
    RepostCount,
    ImpressionCount,
    LastPolledAt,
    NextPollAt,
    PublishedAt,
    FailReason,
    Version,
    CreatedAt,
    UpdatedAt,
    PlatformPostCid,
}

#[derive(DeriveIden)]
pub enum AutoPlugs {
    Table,
    Id,
    PostId,
    WorkspaceId,
    Platform,
    Content,
    Trigger,
    TriggerValue,
    Status,
    FiredAt,
    PlugPostId,
    PlugPostUrl,
    FailReason,
    Version,
    CreatedAt,
    UpdatedAt,
    LeaseUntil,
    Attempts,
}

#[derive(DeriveIden)]
pub enum Jobs {
    Table,
    Id,
    WorkspaceId,
    Kind,
    Status,
    PostId,
    TargetId,
    PlugId,
    Attempt,
    ErrorClass,
    Error,
    StartedAt,
    FinishedAt,
    DurationMs,
}

#[derive(DeriveIden)]
pub enum EngagementSnapshots {
    Table,
    Id,
    TargetId,
    ObservedAt,
    LikeCount,
    CommentCount,
    RepostCount,
    ImpressionCount,
}

#[derive(DeriveIden)]
pub enum MediaAssets {
    Table,
    Id,
    WorkspaceId,
    UploadedBy,
    Kind,
    MimeType,
    FileName,
    ByteSize,
    Width,
    Height,
    DurationMs,
    AltText,
    StorageKey,
    Sha256,
    CreatedAt,
    PublicToken,
}

/// Media uploads counted per workspace and calendar month (the plan-limit seam).
#[derive(DeriveIden)]
pub enum MediaUsage {
    Table,
    WorkspaceId,
    Month,
    Uploads,
}
